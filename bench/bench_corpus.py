"""The benchmark's mailbox: a deterministic, realistic account.

N messages (10,000 by default) over 18 folders, most of them with
non-ASCII names and some nested, with sizes as real mailboxes have them:
most messages 2-50 KB (text, HTML alternatives, small attachments), about
3% of 100 KB-1 MB, about 0.2% multi-MB attachments (2-8 MB); 10,000
messages come to about 375 MB. Flags (\\Seen, \\Answered, \\Flagged,
\\Draft in Drafts) and keywords ($Forwarded, $MDNSent, NonJunk, custom
ones) as clients set them; INTERNALDATEs distinct, spread over 2009-2024.
No \\Deleted messages: `doveadm backup` copies them and mailmove leaves
them out by default, and both tools must make the same tree.

The message pieces (headers, RFC 2047 words, MIME structure, base64
attachments) come from the integration harness's lib/corpus.py; the text
comes from one seeded pool, so generating 375 MB takes seconds. The same
seed and count always give the same bytes.
"""

import base64

from lib import corpus

# (folder, share of the messages in percent); "/" separates levels.
FOLDERS = [
    ("INBOX", 40), ("Sent", 10), ("Drafts", 1), ("Trash", 3), ("Junk", 2),
    ("Archive", 8), ("Archive/2019", 5), ("Archive/2020", 5),
    ("Работа", 4), ("Работа/Отчёты", 3), ("工作", 3), ("工作/项目", 3),
    ("Café & Crème", 2), ("Ελληνικά", 2), ("Projekte", 1), ("Projekte/Kunde Ä", 3),
    ("Reisen ✈", 2), ("Newsletter", 3),
]
KEYWORDS = ["$Forwarded", "$MDNSent", "NonJunk", "$label1", "Projekt_X", "Erledigt"]
KEYWORD_ODDS = 0.2
MEDIUM_SHARE = 0.03   # 100 KB - 1 MB
BIG_SHARE = 0.002     # 2 - 8 MB
POOL_BYTES = 256 * 1024


def imap_name(folder):
    """The folder's name as IMAP lists it on a Maildir++ server ("." as
    the separator), decoded."""
    return folder.replace("/", ".")


class BenchCorpus(corpus.Corpus):
    """Seeded generator of the benchmark mailbox (see the module doc)."""

    def __init__(self, seed=2026, recipient="bench@example.com"):
        super().__init__(seed)
        self.recipient = recipient
        self.pool = self.paragraphs(POOL_BYTES)

    def text(self, size):
        """About size bytes of text lines from the pool, from a random line."""
        out, total = [], 0
        while total < size:
            start = self.pool.find("\n", self.rng.randrange(len(self.pool))) + 1
            piece = self.pool[start:start + size - total]
            piece = piece[:piece.rfind("\n") + 1] or piece
            out.append(piece)
            total += len(piece)
        return "".join(out)

    def mailbox(self, count, with_big=True):
        """count Messages spread over FOLDERS (every folder gets at least
        one), in INTERNALDATE order within each folder. with_big=False:
        no multi-MB message (a small mailbox of the many-users runs)."""
        folders = []
        for name, share in FOLDERS:
            folders += [name] * max(1, count * share // 100)
        folders = (folders + ["INBOX"] * count)[:count]
        self.rng.shuffle(folders)
        dates = sorted(self.distinct_dates(count, 2009, 2024))
        positions = self.rng.sample(range(count), count)
        big = set(positions[:max(1, round(count * BIG_SHARE)) if with_big else 0])
        medium = set(positions[len(big):len(big) + round(count * MEDIUM_SHARE)])
        messages = []
        for n, (folder, date) in enumerate(zip(folders, dates)):
            if n in big:
                size = self.rng.randint(2_000_000, 8_000_000)
            elif n in medium:
                size = int(100_000 * 10 ** self.rng.random())
            elif self.rng.random() < 0.7:
                size = int(2_000 * 25 ** self.rng.random())
            else:
                size = self.rng.randint(10_000, 50_000)
            messages.append(self.message(folder, date, size))
        return messages

    def small_folder(self, folder, count):
        """count messages of 2-4 KB in one folder (the memory figure)."""
        dates = sorted(self.distinct_dates(count, 2009, 2024))
        return [self.message(folder, date, self.rng.randint(2_000, 4_000), text_only=True)
                for date in dates]

    def one_big(self, folder, size):
        """One message of about size bytes, nearly all of it an attachment."""
        date = self.distinct_dates(1, 2020, 2024)[0]
        return self.message(folder, date, size, text_only=False, big=True)

    def message(self, folder, date, size, text_only=None, big=False):
        """A Message of about size bytes: text (plain, or with an HTML
        alternative) when small, else text plus a base64 attachment."""
        if self.rng.random() < 0.35:
            subject = corpus.encoded_word(self.rng.choice(corpus.TEXTS["utf-8"]), "UTF-8",
                                          self.rng.choice("BQ"))
            sender = "%s <n%d@sender.example>" % (
                corpus.encoded_word(self.rng.choice(corpus.NAMES["utf-8"]), "UTF-8"),
                self.counter)
        else:
            subject = self.words(self.rng.randint(2, 9)).capitalize()
            sender = self.ascii_sender()
        header = self.headers(date, self.recipient, subject, sender)
        if text_only is None:
            text_only = size < 50_000 and self.rng.random() < 0.5
        if text_only and self.rng.random() < 0.5:
            content_type = "Content-Type: text/plain; charset=us-ascii"
            body = self.text(max(100, size - len(header)))
        else:
            text = self.text(self.rng.randint(300, min(4_000, max(400, size // 3))))
            parts = ["Content-Type: text/plain; charset=us-ascii\n\n" + text]
            if self.rng.random() < 0.5:
                parts.append("Content-Type: text/html; charset=us-ascii\n\n<html><body><pre>\n"
                             + text + "</pre></body></html>")
            if text_only:
                content_type, body = self.multipart("alternative", parts)
            else:
                rest = max(100, size - len(header) - 2 * len(text) - 600)
                content_type, body = self.multipart("mixed", parts + [self.attachment(
                    rest * 3 // 4, "scan.pdf" if big else "file.bin")])
        return corpus.Message(self.assemble(header, content_type, body), self.flags_for(folder),
                              date, self.keywords(), folder)

    def attachment(self, size, name):
        data = base64.encodebytes(self.rng.randbytes(size)).decode()
        return ("Content-Type: application/octet-stream; name=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment; filename=\"%s\"\n\n%s" % (name, name, data))

    def flags_for(self, folder):
        flags = set(self.random_flags()) - {"\\Draft"}
        if folder == "Drafts":
            flags.add("\\Draft")
        if folder in ("Sent", "Drafts"):
            flags.add("\\Seen")
        return frozenset(flags)

    def keywords(self):
        if self.rng.random() >= KEYWORD_ODDS:
            return ()
        return tuple(self.rng.sample(KEYWORDS, self.rng.randint(1, 2)))


def by_folder(messages, folders=("INBOX",)):
    """{IMAP folder name: [compare.Record]} of messages, with the given
    folders listed even when empty (INBOX always exists)."""
    records = {imap_name(folder): [] for folder in folders}
    for message in messages:
        records.setdefault(imap_name(message.folder), []).append(message.record())
    return records
