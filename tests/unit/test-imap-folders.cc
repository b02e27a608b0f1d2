// The legacy account's folders against a scripted server: LIST-EXTENDED
// with SUBSCRIBED and SPECIAL-USE, XLIST and its attributes, plain LIST
// merged with LSUB, names as atoms, quoted strings and literals, NIL
// separators, \Noselect parents, and NAMESPACE.
#include <string>
#include <vector>

#include "imap/mailbox-list.h"
#include "test-imap-session.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::imap;
using namespace mailmove::test;

namespace {

// "name|separator|attributes|subscribed" per mailbox, one per line, so a
// failing test shows the whole listing.
std::string describe_separator(char separator)
{
	return separator == 0 ? std::string("NIL") : std::string(1, separator);
}

std::string describe(const std::vector<ListedMailbox> &mailboxes)
{
	std::string text;
	for (const ListedMailbox &mailbox : mailboxes) {
		text += mailbox.name + "|" + describe_separator(mailbox.separator) + "|";
		for (size_t i = 0; i < mailbox.attributes.size(); i++)
			text += (i > 0 ? " " : "") + mailbox.attributes[i];
		text += mailbox.subscribed ? "|subscribed\n" : "|\n";
	}
	return text;
}

std::string describe(const std::optional<std::vector<Namespace>> &namespaces)
{
	if (!namespaces)
		return "none";
	std::string text;
	for (const Namespace &ns : *namespaces)
		text += "[" + ns.prefix + "|" + describe_separator(ns.separator) + "]";
	return text;
}

const std::string dovecot_like = "IMAP4rev1 LITERAL+ LIST-EXTENDED SPECIAL-USE NAMESPACE";
const std::string list_extended = "LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)";
const std::string plain_list = "LIST \"\" \"*\"";
const std::string lsub = "LSUB \"\" \"*\"";

// A command (without tag and CRLF) and the server's whole reply to it.
using Exchange = std::pair<std::string, std::string>;

// The server greets with these capabilities and answers the client's
// commands a1, a2, ... in turn; the client has read the greeting.
void script(Session &s, const std::string &capabilities, const std::vector<Exchange> &exchanges)
{
	s.server->send("* OK [CAPABILITY " + capabilities + "] ready\r\n");
	for (size_t i = 0; i < exchanges.size(); i++) {
		std::string tag = "a" + std::to_string(i + 1);
		s.server->await(tag + " " + exchanges[i].first + "\r\n").send(exchanges[i].second);
	}
	s.client.greeting();
}

// The listing of a Dovecot-like server with every kind of name.
const std::string extended_listing =
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX\r\n"
	"* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent Items\"\r\n"
	"* LIST (\\Noselect \\HasChildren) \"/\" Archive\r\n"
	"* LIST (\\HasChildren) \"/\" Archive/2019\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" {22}\r\nArchive/2019/&AOQ-pfel\r\n"
	"* LIST (\\HasNoChildren \\Junk) \"/\" \"Say \\\"hi\\\" \\\\ bye\" "
	"(\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
	"* LIST (\\HasNoChildren \\Trash \\Subscribed) \"/\" {5}\r\nTrash\r\n";

const std::string extended_expected =
	"INBOX|/|\\HasNoChildren \\Subscribed|subscribed\n"
	"Sent Items|/|\\HasNoChildren \\Subscribed \\Sent|subscribed\n"
	"Archive|/|\\Noselect \\HasChildren|\n"
	"Archive/2019|/|\\HasChildren|\n"
	"Archive/2019/&AOQ-pfel|/|\\HasNoChildren \\Subscribed|subscribed\n"
	"Say \"hi\" \\ bye|/|\\HasNoChildren \\Junk|\n"
	"Trash|/|\\HasNoChildren \\Trash \\Subscribed|subscribed\n";

} // namespace

// ---- LIST ----

START_TEST(list_extended_returns_subscriptions_and_roles)
{
	const Chunking chunkings[] = {Chunking::whole(), Chunking::bytes(1),
				      Chunking::random_sizes(5, 20)};
	for (const Chunking &chunking : chunkings) {
		Session s(ClientOptions(), chunking);
		script(s, dovecot_like,
		       {{list_extended, extended_listing + "a1 OK List completed\r\n"}});
		ck_assert_string_eq(describe(s.client.list_mailboxes()), extended_expected);
		// No LSUB: LIST said it all.
		ck_assert_string_eq(s.server->unchecked_writes(), "");
	}

	ListedMailbox sent;
	sent.attributes = {"\\HasNoChildren", "\\Sent"};
	ck_assert(sent.has_attribute("\\sent"));
	ck_assert(!sent.has_attribute("\\Drafts"));
}
END_TEST

START_TEST(list_extended_without_special_use)
{
	Session s;
	script(s, "IMAP4rev1 LIST-EXTENDED",
	       {{"LIST \"\" \"*\" RETURN (SUBSCRIBED)", "* LIST (\\Subscribed) \".\" INBOX\r\n"
							"* LIST () \".\" Drafts\r\n"
							"a1 OK done\r\n"}});
	ck_assert_string_eq(describe(s.client.list_mailboxes()),
			    "INBOX|.|\\Subscribed|subscribed\n"
			    "Drafts|.||\n");
	ck_assert_string_eq(s.server->unchecked_writes(), "");
}
END_TEST

START_TEST(xlist_attributes_become_special_use)
{
	Session s;
	script(s, "IMAP4rev1 XLIST ID",
	       {{"XLIST \"\" \"*\"",
		 "* XLIST (\\HasNoChildren \\Inbox) \"/\" \"Posteingang\"\r\n"
		      "* XLIST (\\Noselect \\HasChildren) \"/\" \"[Gmail]\"\r\n"
		      "* XLIST (\\HasNoChildren \\AllMail) \"/\" \"[Gmail]/All Mail\"\r\n"
		      "* XLIST (\\HasNoChildren \\Spam) \"/\" \"[Gmail]/Spam\"\r\n"
		      "* XLIST (\\HasNoChildren \\Starred) \"/\" \"[Gmail]/Starred\"\r\n"
		      "* XLIST (\\HasNoChildren \\Important) \"/\" \"[Gmail]/Important\"\r\n"
		      "* XLIST (\\HasNoChildren \\Sent) \"/\" \"[Gmail]/Sent Mail\"\r\n"
		      "* XLIST (\\HasNoChildren \\Drafts) \"/\" \"[Gmail]/Drafts\"\r\n"
		      "* XLIST (\\HasNoChildren \\Trash) \"/\" \"[Gmail]/Trash\"\r\n"
		      "* XLIST (\\HasNoChildren) \"/\" \"Receipts\"\r\n"
		      "a1 OK Success\r\n"},
		{lsub, "* LSUB (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
		       "* LSUB (\\HasNoChildren) \"/\" \"Receipts\"\r\n"
		       "a2 OK Success\r\n"}});
	ck_assert_string_eq(describe(s.client.list_mailboxes()),
			    "INBOX|/|\\HasNoChildren|subscribed\n"
			    "[Gmail]|/|\\Noselect \\HasChildren|\n"
			    "[Gmail]/All Mail|/|\\HasNoChildren \\All|\n"
			    "[Gmail]/Spam|/|\\HasNoChildren \\Junk|\n"
			    "[Gmail]/Starred|/|\\HasNoChildren \\Flagged|\n"
			    "[Gmail]/Important|/|\\HasNoChildren \\Important|\n"
			    "[Gmail]/Sent Mail|/|\\HasNoChildren \\Sent|\n"
			    "[Gmail]/Drafts|/|\\HasNoChildren \\Drafts|\n"
			    "[Gmail]/Trash|/|\\HasNoChildren \\Trash|\n"
			    "Receipts|/|\\HasNoChildren|subscribed\n");
	ck_assert(s.server->script_done());

	// A server with SPECIAL-USE is asked with LIST, XLIST or not.
	Session both;
	script(both, "IMAP4rev1 XLIST LIST-EXTENDED SPECIAL-USE",
	       {{list_extended, "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\na1 OK done\r\n"}});
	ck_assert_string_eq(describe(both.client.list_mailboxes()),
			    "Sent|/|\\HasNoChildren \\Sent|\n");
}
END_TEST

START_TEST(plain_list_merged_with_lsub)
{
	// Courier: the personal namespace is INBOX. with "." separators.
	Session s;
	script(s, "IMAP4rev1 NAMESPACE",
	       {{plain_list,
		 "* LIST (\\Unmarked \\HasChildren) \".\" \"INBOX\"\r\n"
		      "* LIST (\\HasNoChildren) \".\" \"INBOX.Sent\"\r\n"
		      "* LIST (\\Noselect \\HasChildren) \".\" \"INBOX.Archive\"\r\n"
		      "* LIST (\\HasChildren) \".\" \"INBOX.Archive.2019\"\r\n"
		      "* LIST (\\HasNoChildren) \".\" \"INBOX.Archive.2019.Q1\"\r\n"
		      "* LIST (\\HasNoChildren) \".\" \"INBOX.sent\"\r\n"
		      "a1 OK LIST completed\r\n"},
		{lsub, "* LSUB () \".\" \"inbox\"\r\n"
		       "* LSUB () \".\" \"INBOX.Sent\"\r\n"
		       "* LSUB () \".\" \"INBOX.Archive.2019.Q1\"\r\n"
		       // Listed for its subscribed child only, not itself
		       // subscribed (RFC 3501 6.3.9).
		       "* LSUB (\\Noselect \\HasChildren) \".\" \"INBOX.Archive\"\r\n"
		       // Subscribed, but gone: not a folder.
		       "* LSUB () \".\" \"INBOX.Deleted long ago\"\r\n"
		       "a2 OK LSUB completed\r\n"}});
	ck_assert_string_eq(describe(s.client.list_mailboxes()),
			    "INBOX|.|\\Unmarked \\HasChildren|subscribed\n"
			    "INBOX.Sent|.|\\HasNoChildren|subscribed\n"
			    "INBOX.Archive|.|\\Noselect \\HasChildren|\n"
			    "INBOX.Archive.2019|.|\\HasChildren|\n"
			    "INBOX.Archive.2019.Q1|.|\\HasNoChildren|subscribed\n"
			    // Only INBOX itself is case-insensitive.
			    "INBOX.sent|.|\\HasNoChildren|\n");
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(nil_separators_duplicates_and_odd_names)
{
	Session s;
	script(s, "IMAP4rev1",
	       {{plain_list,
		 "* LIST (\\NoInferiors) NIL inbox\r\n"
		      "* LIST () NIL Drafts\r\n"
		      "* LIST (\\Marked) NIL Drafts\r\n"
		      "* LIST () NIL 2023\r\n"
		      "* LIST () \"\\\\\" \"Back\\\\slash\"\r\n"
		      "* LIST () NIL \"\xe5\xb7\xb2\xe5\x8f\x91\xe9\x80\x81\"\r\n"
		      // Malformed: no attribute list, a two-character separator,
		      // no name.
		      "* LIST \"x\" \"/\" foo\r\n"
		      "* LIST () \"//\" bar\r\n"
		      "* LIST () NIL {0}\r\n\r\n"
		      "a1 OK done\r\n"},
		{lsub, "* LSUB () NIL Drafts\r\na2 OK done\r\n"}});
	ck_assert_string_eq(describe(s.client.list_mailboxes()),
			    "INBOX|NIL|\\NoInferiors|\n"
			    "Drafts|NIL|\\Marked|subscribed\n"
			    "2023|NIL||\n"
			    "Back\\slash|\\||\n"
			    "\xe5\xb7\xb2\xe5\x8f\x91\xe9\x80\x81|NIL||\n");
	ck_assert(s.log.has_line_containing("malformed list entry: * LIST \"x\""));
	ck_assert(s.log.has_line_containing("malformed list entry: * LIST () \"//\" bar"));
	ck_assert(s.log.has_line_containing("malformed list entry: * LIST () NIL {0}"));
}
END_TEST

START_TEST(list_refusals)
{
	check_refusal_kinds(
		{
			{"a1 NO [UNAVAILABLE] Backend down\r\n", FailureKind::temporary},
			{"a1 NO List failed\r\n", FailureKind::temporary},
			{"a1 BAD [UNAVAILABLE] later\r\n", FailureKind::temporary},
		},
		[](Session &s, const std::string &reply) {
			script(s, dovecot_like, {{list_extended, reply}});
			return expect_failure([&]() { s.client.list_mailboxes(); });
		});

	// LIST-EXTENDED announced, RETURN rejected: LIST and LSUB instead.
	Session no_return;
	script(no_return, dovecot_like,
	       {{list_extended, "a1 BAD Unknown RETURN option\r\n"},
		{plain_list, "* LIST (\\Sent) \"/\" Sent\r\na2 OK done\r\n"},
		{lsub, "* LSUB () \"/\" Sent\r\na3 OK done\r\n"}});
	ck_assert_string_eq(describe(no_return.client.list_mailboxes()), "Sent|/|\\Sent|subscribed\n");
	ck_assert(no_return.log.has_line_containing("LIST RETURN refused"));

	// Subscriptions are not worth a failed move, a busy server a retry.
	const Exchange listed = {plain_list, "* LIST () \"/\" INBOX\r\na1 OK done\r\n"};
	Session no_lsub;
	script(no_lsub, "IMAP4rev1", {listed, {lsub, "a2 BAD Unknown command\r\n"}});
	ck_assert_string_eq(describe(no_lsub.client.list_mailboxes()), "INBOX|/||\n");
	ck_assert(no_lsub.log.has_line_containing("subscriptions are not carried over"));

	Session busy;
	script(busy, "IMAP4rev1", {listed, {lsub, "a2 NO [UNAVAILABLE] later\r\n"}});
	ck_assert(expect_failure([&]() { busy.client.list_mailboxes(); }).kind() ==
		  FailureKind::temporary);
}
END_TEST

// A LIST reply nesting 480,000 lists in its attributes ends the listing
// in a clear error, not in a crashed worker.
START_TEST(deeply_nested_list_reply_is_an_error)
{
	const size_t levels = 480000;
	Session s;
	script(s, "IMAP4rev1",
	       {{plain_list, "* LIST (" + std::string(levels, '(') + std::string(levels, ')') +
				     ") \"/\" INBOX\r\na1 OK done\r\n"}});
	Failure failure = expect_failure([&]() { s.client.list_mailboxes(); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(std::string(failure.what()).find("nested deeper than 64 levels") !=
			      std::string::npos,
		      "%s", failure.what());
}
END_TEST

// The folder count and the listing's size have caps: past them the move
// fails with the reason rather than moving a part of the tree.
START_TEST(listing_caps)
{
	auto listing = [](const char *keyword, size_t count) {
		std::string lines;
		for (size_t i = 0; i < count; i++)
			lines += std::string("* ") + keyword + " () \"/\" f" + std::to_string(i) + "\r\n";
		return lines;
	};
	Session at_cap;
	script(at_cap, "IMAP4rev1",
	       {{plain_list, listing("LIST", 10000) + "a1 OK done\r\n"},
		{lsub, listing("LSUB", 10000) + "a2 OK done\r\n"}});
	ck_assert_uint_eq(at_cap.client.list_mailboxes().size(), 10000);

	Session folders;
	script(folders, "IMAP4rev1",
	       {{plain_list, listing("LIST", 10001) + "a1 OK done\r\n"},
		{lsub, "a2 OK done\r\n"}});
	Failure too_many = expect_failure([&]() { folders.client.list_mailboxes(); });
	ck_assert(too_many.kind() == FailureKind::permanent);
	ck_assert_msg(std::string(too_many.what()).find("lists more than 10000 folders") !=
			      std::string::npos,
		      "%s", too_many.what());

	Session subscriptions;
	script(subscriptions, "IMAP4rev1",
	       {{plain_list, "* LIST () \"/\" INBOX\r\na1 OK done\r\n"},
		{lsub, listing("LSUB", 10001) + "a2 OK done\r\n"}});
	Failure subscribed = expect_failure([&]() { subscriptions.client.list_mailboxes(); });
	ck_assert_msg(std::string(subscribed.what()).find("more than 10000 subscriptions") !=
			      std::string::npos,
		      "%s", subscribed.what());

	// 20 names of 900 KiB each: over 16 MiB in all.
	std::string big;
	for (int i = 0; i < 20; i++)
		big += "* LIST () \"/\" \"" + std::string(900 * 1024, char('a' + i)) + "\"\r\n";
	Session bytes;
	script(bytes, "IMAP4rev1", {{plain_list, big + "a1 OK done\r\n"}, {lsub, "a2 OK done\r\n"}});
	Failure too_long = expect_failure([&]() { bytes.client.list_mailboxes(); });
	ck_assert_msg(std::string(too_long.what()).find("longer than 16777216 bytes") !=
			      std::string::npos,
		      "%s", too_long.what());

	// Malformed entries: the first 100 logged, the rest counted.
	std::string bad;
	for (int i = 0; i < 150; i++)
		bad += "* LIST x \"/\" bad" + std::to_string(i) + "\r\n";
	Session malformed;
	script(malformed, "IMAP4rev1",
	       {{plain_list, bad + "* LIST () \"/\" INBOX\r\na1 OK done\r\n"},
		{lsub, "a2 OK done\r\n"}});
	ck_assert_uint_eq(malformed.client.list_mailboxes().size(), 1);
	ck_assert(malformed.log.has_line_containing("ignoring 50 more malformed list entries"));
}
END_TEST

// ---- NAMESPACE ----

START_TEST(namespaces_personal_only)
{
	const std::pair<std::string, std::string> cases[] = {
		{"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", "[|/]"},
		{"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\"))\r\n", "[INBOX.|.]"},
		{"* NAMESPACE ((\"\" \"/\")(\"#mh/\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) "
		 "((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\"))\r\n",
		 "[|/][#mh/|/]"},
		{"* NAMESPACE ((\"\" NIL)) NIL NIL\r\n", "[|NIL]"},
		{"* NAMESPACE ((\"\\\\\" \"\\\\\")) NIL NIL\r\n", "[\\|\\]"},
		{"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\n", "[INBOX.|.]"},
		{"* NAMESPACE NIL NIL ((\"\" \"/\"))\r\n", ""},
	};
	for (const auto &[response, expected] : cases) {
		Session s;
		script(s, dovecot_like, {{"NAMESPACE", response + "a1 OK done\r\n"}});
		ck_assert_string_eq(describe(s.client.personal_namespaces()), expected);
	}
}
END_TEST

START_TEST(namespaces_missing_refused_or_malformed)
{
	Session missing;
	script(missing, "IMAP4rev1", {});
	ck_assert(!missing.client.personal_namespaces());
	ck_assert_string_eq(missing.server->written(), "");

	const std::string not_usable[] = {
		"a1 BAD Unknown command\r\n",
		"a1 NO Not now\r\n",
		"a1 OK but nothing came\r\n",
		"* NAMESPACE (\"\" \"/\") NIL NIL\r\na1 OK done\r\n",
		"* NAMESPACE ((\"\")) NIL NIL\r\na1 OK done\r\n",
	};
	for (const std::string &reply : not_usable) {
		Session s;
		script(s, dovecot_like, {{"NAMESPACE", reply}});
		ck_assert_msg(!s.client.personal_namespaces(), "%s", reply.c_str());
		ck_assert(s.log.has_line_containing("NAMESPACE"));
	}

	Session busy;
	script(busy, dovecot_like, {{"NAMESPACE", "a1 NO [UNAVAILABLE] later\r\n"}});
	ck_assert(expect_failure([&]() { busy.client.personal_namespaces(); }).kind() ==
		  FailureKind::temporary);
}
END_TEST

static Suite *folders_suite()
{
	Suite *s = suite_create("imap-folders");
	TCase *list = tcase_create("list");
	tcase_add_test(list, list_extended_returns_subscriptions_and_roles);
	tcase_add_test(list, list_extended_without_special_use);
	tcase_add_test(list, xlist_attributes_become_special_use);
	tcase_add_test(list, plain_list_merged_with_lsub);
	tcase_add_test(list, nil_separators_duplicates_and_odd_names);
	tcase_add_test(list, list_refusals);
	tcase_add_test(list, deeply_nested_list_reply_is_an_error);
	suite_add_tcase(s, list);

	// 40,000 listed names and 18 MiB of names: seconds under the sanitizers on a
	// loaded machine, so a hang guard of its own (Check's default is 4 s).
	TCase *caps = tcase_create("caps");
	tcase_add_test(caps, listing_caps);
	tcase_set_timeout(caps, 60);
	suite_add_tcase(s, caps);

	TCase *namespaces = tcase_create("namespace");
	tcase_add_test(namespaces, namespaces_personal_only);
	tcase_add_test(namespaces, namespaces_missing_refused_or_malformed);
	suite_add_tcase(s, namespaces);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({folders_suite()});
}
