"""The Dovecot instances of the whole-tree tests.

- TreeLegacyInstance: a legacy Dovecot whose users have folder trees: "/"
  as the hierarchy separator and Maildir with LAYOUT=fs, so that names may
  hold "." (the target's separator), and special-use marks on some folders
  in its namespace (tree_corpus.DOVECOT_LEGACY_SPECIAL_USE).
- TreeTargetInstance: the target with the plugin, whose namespace has the
  separator "." (Dovecot's Maildir++ default, spelt out) and the
  special-use folders Sent, Drafts, Trash, Junk, Archive, as Debian's
  15-mailboxes.conf has them; its inspector serves the same mail with the
  same namespace, so LIST RETURN (SPECIAL-USE) shows the target's roles.
"""

import os

from .dovecot import INSTALLED_EXAMPLE_CONFIG, DovecotInstance, LegacyInstance, TargetInstance, \
    stop_all
from .tree_corpus import DOVECOT_LEGACY_SPECIAL_USE, TARGET_SPECIAL_USE


def _namespace(separator, special_use):
    mailboxes = "".join('  mailbox "%s" {\n    special_use = %s\n  }\n' % (name, use)
                        for name, use in special_use.items())
    return "namespace inbox {\n  inbox = yes\n  separator = %s\n%s}\n" % (separator, mailboxes)


TARGET_NAMESPACE = _namespace(".", {name: use for use, name in TARGET_SPECIAL_USE.items()})


class TreeLegacyInstance(LegacyInstance):
    """The legacy Dovecot of the tree tests (IMAP, IMAPS, POP3 as usual)."""

    def _extra_config(self):
        return super()._extra_config() + (
            "mail_location = maildir:~/Maildir:LAYOUT=fs\n" +
            _namespace("/", DOVECOT_LEGACY_SPECIAL_USE))

    def folder_dir(self, username, raw_name):
        """The maildir directory of a folder (raw modified UTF-7 name)."""
        maildir = self.maildir(username)
        if raw_name.upper() == "INBOX":
            return maildir
        return maildir + "/" + raw_name


class TreeInspector(DovecotInstance):
    """A plain Dovecot on the target's mail with the target's namespace."""

    def _extra_config(self):
        return super()._extra_config() + TARGET_NAMESPACE


class TreeTargetInstance(TargetInstance):
    """The target with special-use folders; see the module docstring."""

    def _extra_config(self):
        return super()._extra_config() + TARGET_NAMESPACE

    def inspector(self, workdir):
        return TreeInspector(workdir, self.name + "-inspector", users=self.users.values(),
                             mail_root=self.mail_root)


class TreeWorld:
    """What the tree test modules' Worlds share: a legacy server, the
    target and its inspector (subclasses set them up in __init__)."""

    legacy = target = inspector = None

    @staticmethod
    def require_product():
        if not os.path.exists(INSTALLED_EXAMPLE_CONFIG):
            raise RuntimeError("the product is not installed: %s is missing "
                               "(run make install)" % INSTALLED_EXAMPLE_CONFIG)

    def stop(self):
        stop_all([self.target, self.legacy, self.inspector])

    def logs(self):
        return [("target log (tail, without IMAP traces)",
                 self.target.log_tail(60, skip=r"Debug: mailmove: [CS]: "))] + self.legacy_logs()

    def legacy_logs(self):
        return [("legacy log (tail)", self.legacy.log_tail(15))]
