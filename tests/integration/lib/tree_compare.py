"""Whole-tree comparison: a legacy account's folders and mail against what
the target holds after the move.

Both sides are read over IMAP (the target through its inspector, a plain
Dovecot on the same mail): LIST with RETURN (SUBSCRIBED SPECIAL-USE),
names decoded from modified UTF-7, then every folder's messages as
compare.Records (SHA-256 of the bytes, flags without \\Recent, keywords,
INTERNALDATE). The expectation for each folder comes from its FolderSpec
(lib/tree_corpus.py), which states the target name and role the mapping
rules give it; the comparison checks per folder:

- the legacy server holds the corpus tree (otherwise the test proves
  nothing and says so);
- the target folder exists under the expected name, and no other folder
  does (skipped legacy folders have none);
- its special-use role at the target, and its subscription;
- its messages: the legacy folder's messages, without the \\Deleted ones
  (mailmove_skip_deleted = yes, the default), each exactly once with the
  same bytes, flags, keywords and INTERNALDATE; nothing extra.

The result prints as a table with one row per folder and a summary line
(folders, messages, differences), which is what the issue's closing note
quotes for each legacy server implementation.
"""

import contextlib
import re
import unicodedata

from . import clients, compare
from .imap_tree import examine, list_folders, mutf7_encode, quote
from .scenario import check, check_equal, note
from .tree_corpus import TARGET_SPECIAL_USE

# The role each of the target's special-use folders has by its configuration.
TARGET_ROLES = {name: use for use, name in TARGET_SPECIAL_USE.items()}


class FolderRow:
    """The comparison of one legacy folder (or one extra target folder)."""

    def __init__(self, legacy_name, target_name, why=""):
        self.legacy_name = legacy_name
        self.target_name = target_name
        self.why = why
        self.role = ("-", "-")        # expected, actual
        self.subscribed = ("-", "-")
        self.legacy_count = 0
        self.deleted = 0
        self.expected_count = 0
        self.target_count = 0
        self.problems = []

    def cells(self):
        return [_cut(self.legacy_name), _cut(self.target_name or "(skipped)"),
                _pair(self.role), _pair(self.subscribed), str(self.legacy_count),
                str(self.deleted), str(self.expected_count), str(self.target_count),
                str(len(self.problems))]


def _pair(pair):
    expected, actual = pair
    return expected if expected == actual else "%s!=%s" % (expected, actual)


class TreeComparison:
    """Rows per folder, problems that belong to no folder, and the totals."""

    HEADER = ["legacy folder", "target folder", "role", "subscr.", "legacy", "\\Deleted",
              "expected", "target", "diffs"]

    def __init__(self, label):
        self.label = label
        self.rows = []
        self.problems = []
        self.legacy_folders = 0
        self.skipped_folders = 0
        self.target_folders = 0

    @property
    def differences(self):
        return len(self.problems) + sum(len(row.problems) for row in self.rows)

    def totals(self):
        return {key: sum(getattr(row, key) for row in self.rows)
                for key in ("legacy_count", "deleted", "expected_count", "target_count")}

    def summary(self):
        t = self.totals()
        return ("%s: folders %d legacy (%d skipped), %d at the target; messages %d legacy, "
                "%d \\Deleted not moved, %d expected, %d at the target; differences %d" % (
                    self.label, self.legacy_folders, self.skipped_folders,
                    self.target_folders, t["legacy_count"], t["deleted"], t["expected_count"],
                    t["target_count"], self.differences))

    def table(self):
        """The per-folder table and the summary line, as text lines."""
        rows = [self.HEADER] + [row.cells() for row in self.rows]
        widths = [max(_width(row[i]) for row in rows) for i in range(len(self.HEADER))]
        lines = ["  ".join(_pad(cell, width) for cell, width in zip(row, widths)).rstrip()
                 for row in rows]
        return lines + [self.summary()]

    def show(self):
        """Print the table under the scenario's line."""
        for line in self.table():
            note(line)

    def check(self):
        """Fail the scenario if anything differs, listing what."""
        check(self.differences == 0, "the target differs from the legacy account:\n%s",
              "\n".join(self.problem_lines()))

    def problem_lines(self, limit=40):
        lines = ["%s: %s" % (self.label, p) for p in self.problems]
        for row in self.rows:
            lines += ["%s -> %s: %s" % (row.legacy_name, row.target_name, p)
                      for p in row.problems]
        return lines[:limit] + (["... and %d more" % (len(lines) - limit)]
                                if len(lines) > limit else [])


def _width(text):
    """Display columns of text: East Asian wide characters take two,
    combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF"
               else 1 for c in text)


def _cut(text, width=40):
    """text shortened to width display columns (long names keep the table
    readable; the problem lines name folders in full)."""
    if _width(text) <= width:
        return text
    while _width(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _pad(text, width):
    return text + " " * (width - _width(text))


def _records(conn, folder):
    if not folder.selectable:
        return []
    examine(conn, folder.raw)
    return compare.fetch_records(conn)


def _role_text(attributes):
    return " ".join(sorted(attributes)) or "-"


def compare_tree(label, legacy, legacy_user, target, target_user, tree, target_separator=".",
                 skip_deleted=True, extra_folders=None, extra_messages=None, not_moved=(),
                 legacy_password=None):
    """Compare a legacy account with its target account; a TreeComparison.

    legacy, target: instances clients.imap_session() can log in to (the
    target's inspector, not the target itself). extra_folders: target
    folders the target's user made after the switch, {name: subscribed}.
    extra_messages: {target folder: [Record]} mail that arrived at the
    target itself and must still be there. not_moved: SHA-256 digests of
    legacy messages the move must leave out (refused by the target,
    filtered), checked to be absent.
    """
    extra_folders = dict(extra_folders or {})
    extra_messages = dict(extra_messages or {})
    not_moved = set(not_moved)
    result = TreeComparison(label)
    with contextlib.ExitStack() as stack:
        lconn = stack.enter_context(clients.imap_session(legacy, legacy_user, legacy_password))
        tconn = stack.enter_context(clients.imap_session(target, target_user))
        legacy_listed = {f.name: f for f in list_folders(lconn)}
        target_listed = {f.name: f for f in list_folders(tconn)}
        result.legacy_folders = len(legacy_listed)
        result.target_folders = len(target_listed)

        wanted = {tree.legacy_name(spec) for spec in tree.folders}
        if set(legacy_listed) != wanted:
            result.problems.append(
                "the legacy server does not hold the corpus tree: missing %s, unexpected %s" % (
                    sorted(wanted - set(legacy_listed)), sorted(set(legacy_listed) - wanted)))

        expected_targets = set(extra_folders)
        for spec in tree.folders:
            row = FolderRow(tree.legacy_name(spec), spec.target_name(target_separator), spec.why)
            if spec.target_like:
                row.target_name = _resolve_like(spec.target_like, target_listed, row)
            result.rows.append(row)
            legacy_folder = legacy_listed.get(row.legacy_name)
            legacy_records = _records(lconn, legacy_folder) if legacy_folder else []
            row.legacy_count = len(legacy_records)
            if spec.target is None:
                result.skipped_folders += 1
                continue
            expected_targets.add(row.target_name)
            row.deleted = (sum(1 for r in legacy_records if "\\Deleted" in r.flags)
                           if skip_deleted else 0)
            expected = [r for r in legacy_records if not (skip_deleted and "\\Deleted" in r.flags)
                        and r.sha256 not in not_moved]
            expected += extra_messages.pop(row.target_name, [])
            row.expected_count = len(expected)
            if spec.implicit and (legacy_folder is None or
                                  "\\noselect" in legacy_folder.attributes):
                _compare_plain_parent(row, spec.subscribed, expected, target_listed, tconn,
                                      target_separator, not_moved)
                continue
            _compare_folder(row, spec.role, spec.subscribed, expected,
                            target_listed.get(row.target_name), tconn, not_moved)

        for name in sorted(extra_folders):
            row = FolderRow("(made at the target)", name)
            result.rows.append(row)
            expected = extra_messages.pop(name, [])
            row.expected_count = len(expected)
            _compare_folder(row, TARGET_ROLES.get(name), extra_folders[name], expected,
                            target_listed.get(name), tconn, not_moved)
        for name in extra_messages:
            result.problems.append("extra_messages names %s, which is no expected folder" % name)
        unexpected = sorted(set(target_listed) - expected_targets)
        if unexpected:
            result.problems.append("folders at the target that nothing explains: %s" % unexpected)
    return result


def _resolve_like(pattern, target_listed, row):
    """The one target folder whose name matches pattern (a name the rules
    may shorten), or the pattern itself when none or several do."""
    found = [name for name in target_listed if re.match(pattern, name)]
    if len(found) == 1:
        return found[0]
    row.problems.append("%d target folders match %s: %s" % (len(found), pattern, found))
    return pattern


def _compare_folder(row, role, subscribed, expected, target_folder, tconn, not_moved):
    row.role = ((role or "-").lower(), "-")
    row.subscribed = ("yes" if subscribed else "no", "-")
    if target_folder is None:
        row.problems.append("no such folder at the target")
        return
    row.role = (row.role[0], _role_text(target_folder.special_use))
    if row.role[0] != row.role[1]:
        row.problems.append("special-use at the target is %s, expected %s" % (
            row.role[1], row.role[0]))
    row.subscribed = (row.subscribed[0], "yes" if target_folder.subscribed else "no")
    if row.subscribed[0] != row.subscribed[1]:
        row.problems.append("subscribed at the target: %s, expected %s" % (
            row.subscribed[1], row.subscribed[0]))
    actual = _records(tconn, target_folder)
    row.target_count = len(actual)
    row.problems += [str(p) for p in compare.diff(expected, actual)]
    row.problems += ["a message that must not be moved is there: %s" % r.describe("target")
                     for r in actual if r.sha256 in not_moved]


def _compare_plain_parent(row, subscribed, expected, target_listed, tconn, separator,
                          not_moved):
    """A legacy \\Noselect parent (RFC 3501: a name in the hierarchy, no
    mailbox, no mail; Cyrus's intermediate folders are selectable and
    compared as folders). With a folder moved below it the target lists it
    as that folder's parent by itself: it must not be made a selectable
    mailbox there, nor subscribed unless the legacy user subscribed it.
    With nothing below it, the move creates it as an empty folder."""
    if expected:
        row.problems.append("a \\Noselect parent with %d messages to move" % len(expected))
    below = [name for name in target_listed if name.startswith(row.target_name + separator)]
    listed = target_listed.get(row.target_name)
    if listed is None or "\\noselect" in listed.attributes:
        if not below:
            row.problems.append("not at the target, and no folder there is below it")
        typ, data = tconn.lsub('""', quote(mutf7_encode(row.target_name)))
        check(typ == "OK", "LSUB %s at the target: %r", row.target_name, data)
        on_lsub = any(item is not None for item in data)
        row.subscribed = ("yes" if subscribed else "no", "yes" if on_lsub else "no")
        if row.subscribed[0] != row.subscribed[1]:
            row.problems.append("subscribed at the target: %s, expected %s" % (
                row.subscribed[1], row.subscribed[0]))
        return
    if below:
        row.problems.append("made a selectable mailbox at the target, though the folders "
                            "below it (%s) make the target list it as their parent" % below[0])
    _compare_folder(row, None, subscribed, expected, listed, tconn, not_moved)


def check_tree(label, legacy, legacy_user, target, target_user, tree, **options):
    """compare_tree(), its table printed under the scenario; fails the
    scenario on any difference. Returns the TreeComparison."""
    result = compare_tree(label, legacy, legacy_user, target, target_user, tree, **options)
    result.show()
    result.check()
    return result


def check_uids_kept(legacy, legacy_user, target, target_user, tree, legacy_password=None):
    """mailmove_order = uid into empty target folders: every moved folder
    has the legacy UIDVALIDITY at the target and every message there its
    legacy UID (the \\Deleted ones are not moved). Prints one line per
    folder; fails the scenario on the first difference."""
    kept = []
    with clients.imap_session(legacy, legacy_user, legacy_password) as lconn, \
            clients.imap_session(target, target_user) as tconn:
        for spec in tree.folders:
            if spec.target is None or spec.implicit:
                continue
            legacy_uidvalidity, _ = examine(lconn, tree.raw_name(spec))
            legacy_uids = sorted((r.uid, r.sha256) for r in compare.fetch_records(lconn)
                                 if "\\Deleted" not in r.flags)
            name = spec.target_name()
            target_uidvalidity, _ = examine(tconn, mutf7_encode(name))
            target_uids = sorted((r.uid, r.sha256) for r in compare.fetch_records(tconn))
            check_equal(target_uidvalidity, legacy_uidvalidity, "UIDVALIDITY of %s" % name)
            check(target_uids == legacy_uids, "%s: UIDs differ: legacy %s, target %s", name,
                  [u for u, _ in legacy_uids][:20], [u for u, _ in target_uids][:20])
            kept.append((name, legacy_uidvalidity, len(legacy_uids),
                         legacy_uids[-1][0] if legacy_uids else 0))
    for name, uidvalidity, count, highest in kept:
        note("  %s  UIDVALIDITY %d, %d UIDs equal (highest %d)", _pad(name, 36), uidvalidity,
             count, highest)
    note("%d folders keep their UIDVALIDITY and UIDs", len(kept))
    return kept
