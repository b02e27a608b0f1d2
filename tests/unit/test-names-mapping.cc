// map_folders(): from a legacy LIST to the folders to create at the
// target. Every test also checks the invariants the mover relies on:
// target names unique, parents before children, every ancestor listed,
// levels and names within Dovecot's limits, no folder dropped.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "names/folder-mapper.h"
#include "names/folder-tree.h"
#include "names/legacy-levels.h"
#include "names/level-escape.h"
#include "names/normalize.h"

#include "check-assert.h"
#include "check-main.h"

using namespace mailmove::names;

namespace {

using Folders = std::vector<MappedFolder>;

LegacyMailbox box(std::string raw, char separator = '/', std::vector<std::string> attributes = {},
		  bool subscribed = false)
{
	return LegacyMailbox{std::move(raw), separator, std::move(attributes), subscribed};
}

const MappedFolder &by_raw(const Folders &folders, const std::string &raw)
{
	auto found = std::find_if(folders.begin(), folders.end(),
				  [&](const MappedFolder &f) { return f.raw_name == raw; });
	ck_assert_msg(found != folders.end(), "no folder with raw name \"%s\"", raw.c_str());
	return *found;
}

const MappedFolder *by_target(const Folders &folders, const std::string &target)
{
	auto found = std::find_if(folders.begin(), folders.end(), [&](const MappedFolder &f) {
		return f.target_name == target && f.skip_reason.empty();
	});
	return found == folders.end() ? nullptr : &*found;
}

size_t position(const Folders &folders, const std::string &target)
{
	for (size_t i = 0; i < folders.size(); i++) {
		if (folders[i].target_name == target)
			return i;
	}
	ck_abort_msg("no folder \"%s\" at the target", target.c_str());
	return 0;
}

void expect_target(const Folders &folders, const std::string &raw, const std::string &expected)
{
	const std::string &actual = by_raw(folders, raw).target_name;
	ck_assert_msg(actual == expected, "\"%s\" maps to \"%s\", expected \"%s\"", raw.c_str(),
		      actual.c_str(), expected.c_str());
}

bool has_note(const MappedFolder &folder, const std::string &part)
{
	return std::any_of(folder.notes.begin(), folder.notes.end(),
			   [&](const std::string &note) { return contains(note, part); });
}

// Dovecot treats INBOX (and "inbox/..." as INBOX's children) in any case.
std::string inbox_key(const std::string &name, char separator)
{
	std::string head = name.substr(0, 5);
	for (char &c : head)
		c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	if (head == "INBOX" && (name.size() == 5 || name[5] == separator))
		return head + name.substr(5);
	return name;
}

// The invariants every mapping keeps.
void check_invariants(const std::vector<LegacyMailbox> &legacy, const Folders &folders,
		      const MappingOptions &options = {})
{
	char separator = options.target_separator;
	std::set<std::string> moved;
	std::map<std::string, size_t> positions;
	for (size_t i = 0; i < folders.size(); i++)
		positions.emplace(folders[i].target_name, i);
	for (size_t i = 0; i < folders.size(); i++) {
		const MappedFolder &folder = folders[i];
		const std::string &name = folder.target_name;
		ck_assert_msg(!name.empty(), "empty target name for \"%s\"", folder.raw_name.c_str());
		ck_assert_msg(is_valid_utf8(name), "target \"%s\" is not UTF-8", name.c_str());
		ck_assert_msg(nfc(name) == name, "target \"%s\" is not NFC", name.c_str());
		ck_assert_uint_le(stored_length(name), options.max_name_bytes);
		for (const std::string &level : split_levels(name, separator)) {
			ck_assert_msg(!level.empty(), "empty level in \"%s\"", name.c_str());
			ck_assert_uint_le(stored_length(level), options.max_component_bytes);
			ck_assert_msg(level != "." && level != "..", "dot level in \"%s\"", name.c_str());
			for (unsigned char c : level)
				ck_assert_msg(c >= 0x20 && c != 0x7f, "control character in \"%s\"",
					      name.c_str());
		}
		if (folder.role == Role::inbox)
			ck_assert_uint_eq(i, 0);
		if (!folder.skip_reason.empty())
			continue;
		ck_assert_msg(moved.insert(inbox_key(name, separator)).second, "target \"%s\" twice",
			      name.c_str());
		// every ancestor comes earlier
		for (size_t end = name.find(separator, options.target_prefix.size());
		     end != std::string::npos; end = name.find(separator, end + 1)) {
			std::string parent = name.substr(0, end);
			if (parent == "INBOX")
				continue;
			auto found = positions.find(parent);
			ck_assert_msg(found != positions.end() && found->second < i,
				      "\"%s\" is missing or comes after \"%s\"", parent.c_str(),
				      name.c_str());
		}
	}
	// nothing dropped: every listed name is there
	for (const LegacyMailbox &mailbox : legacy)
		by_raw(folders, mailbox.raw_name);
}

Folders map_and_check(const std::vector<LegacyMailbox> &legacy,
		      const std::vector<Namespace> &namespaces = {},
		      const MappingOptions &options = {})
{
	Folders folders = map_folders(legacy, namespaces, options);
	check_invariants(legacy, folders, options);
	return folders;
}

std::vector<LegacyMailbox> courier_list()
{
	return {box("INBOX", '.'), box("INBOX.Sent", '.', {}, true), box("INBOX.Work", '.'),
		box("INBOX.Work.2019", '.', {}, true), box("INBOX.&XfJT0ZAB-", '.')};
}

} // namespace

START_TEST(strips_the_namespace_prefix)
{
	Folders folders = map_and_check(courier_list(), {{"INBOX.", '.'}});
	ck_assert_uint_eq(folders.size(), 5);
	ck_assert_string_eq(folders[0].target_name, "INBOX");
	ck_assert(folders[0].role == Role::inbox);
	expect_target(folders, "INBOX.Sent", "Sent");
	expect_target(folders, "INBOX.Work", "Work");
	expect_target(folders, "INBOX.Work.2019", "Work/2019");
	expect_target(folders, "INBOX.&XfJT0ZAB-", "已发送");
	ck_assert_string_eq(by_raw(folders, "INBOX.&XfJT0ZAB-").display_name, "INBOX.已发送");
}
END_TEST

START_TEST(detects_the_inbox_prefix_without_namespace)
{
	Folders folders = map_and_check(courier_list());
	expect_target(folders, "INBOX.Sent", "Sent");
	expect_target(folders, "INBOX.Work.2019", "Work/2019");

	// Not every name is under INBOX: INBOX's children stay its children.
	std::vector<LegacyMailbox> dovecot_like{box("INBOX"), box("INBOX/Work"), box("Work")};
	Folders kept = map_and_check(dovecot_like);
	expect_target(kept, "INBOX/Work", "INBOX/Work");
	expect_target(kept, "Work", "Work");

	// NAMESPACE says the prefix is empty: nothing is guessed.
	Folders explicit_empty = map_and_check(courier_list(), {{"", '.'}});
	expect_target(explicit_empty, "INBOX.Sent", "INBOX/Sent");
}
END_TEST

START_TEST(other_namespace_prefixes)
{
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Mail", '/', {"\\Noselect"}),
					  box("Mail/Projects"), box("Mail/Projects/A")};
	Folders folders = map_and_check(legacy, {{"Mail/", '/'}});
	expect_target(folders, "Mail/Projects", "Projects");
	expect_target(folders, "Mail/Projects/A", "Projects/A");
	ck_assert(!by_raw(folders, "Mail").skip_reason.empty());

	MappingOptions prefixed;
	prefixed.target_prefix = "INBOX/";
	Folders under_inbox = map_and_check(courier_list(), {{"INBOX.", '.'}}, prefixed);
	expect_target(under_inbox, "INBOX", "INBOX");
	expect_target(under_inbox, "INBOX.Work.2019", "INBOX/Work/2019");
}
END_TEST

START_TEST(maps_dot_to_slash)
{
	std::vector<LegacyMailbox> legacy{box("INBOX", '.'), box("INBOX.a", '.'),
					  box("INBOX.a.b", '.'), box("INBOX.a/b", '.')};
	Folders folders = map_and_check(legacy, {{"INBOX.", '.'}});
	expect_target(folders, "INBOX.a.b", "a/b");
	const MappedFolder &slash = by_raw(folders, "INBOX.a/b");
	ck_assert_string_eq(slash.target_name, "a%2fb");
	ck_assert(has_note(slash, "hierarchy separator"));
	ck_assert_string_eq(unescape_level(slash.target_name), "a/b");
}
END_TEST

START_TEST(maps_slash_to_dot)
{
	MappingOptions dots;
	dots.target_separator = '.';
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("a"), box("a/b.c"), box("v1.2")};
	Folders folders = map_and_check(legacy, {}, dots);
	expect_target(folders, "a/b.c", "a.b%2ec");
	expect_target(folders, "v1.2", "v1%2e2");
	ck_assert(has_note(by_raw(folders, "v1.2"), "hierarchy separator"));
}
END_TEST

START_TEST(nil_separator_is_flat)
{
	std::vector<LegacyMailbox> legacy{box("INBOX", 0), box("a/b", 0), box("a.b", 0)};
	Folders folders = map_and_check(legacy);
	expect_target(folders, "a/b", "a%2fb");
	expect_target(folders, "a.b", "a.b");
}
END_TEST

START_TEST(nests_to_depth_ten)
{
	std::string raw = "INBOX";
	std::vector<LegacyMailbox> all_levels{box("INBOX", '.')};
	for (int level = 1; level <= 10; level++) {
		raw += ".L" + std::to_string(level);
		all_levels.push_back(box(raw, '.'));
	}
	Folders folders = map_and_check(all_levels, {{"INBOX.", '.'}});
	const std::string deepest = "L1/L2/L3/L4/L5/L6/L7/L8/L9/L10";
	expect_target(folders, raw, deepest);
	ck_assert_uint_eq(folders.size(), 11);

	// Only the deepest listed: the parents appear as plain parents first.
	std::vector<LegacyMailbox> deepest_only{box("INBOX", '.'), box(raw, '.', {}, true)};
	Folders sparse = map_and_check(deepest_only, {{"INBOX.", '.'}});
	ck_assert_uint_eq(sparse.size(), 11);
	const MappedFolder *parent = by_target(sparse, "L1/L2/L3");
	ck_assert_ptr_nonnull(parent);
	ck_assert(!parent->selectable);
	ck_assert(!parent->subscribed);
	ck_assert(parent->skip_reason.empty());
	ck_assert_string_eq(parent->raw_name, "INBOX.L1.L2.L3");
	ck_assert(by_raw(sparse, raw).subscribed);
}
END_TEST

// Found by fuzz/fuzz-folder-names.cc: every level of a name is a node of
// the tree, each with its whole name, so a hostile server's name of
// thousands of levels cost the worker seconds to hours (4,000 levels:
// 13 s). From max_folder_levels on the levels are kept as one: the
// folder is still moved (its legacy name is selected as listed), with a
// note, at a bounded cost.
START_TEST(folds_levels_beyond_the_limit)
{
	auto name_of = [](size_t levels, char separator, size_t full_levels) {
		std::string name;
		for (size_t level = 1; level <= levels; level++) {
			if (level > 1)
				name += level <= full_levels ? separator : '.';
			name += "L" + std::to_string(level);
		}
		return name;
	};
	const std::string at_limit = "INBOX." + name_of(max_folder_levels, '.', SIZE_MAX);
	const std::string deeper = "INBOX." + name_of(100, '.', SIZE_MAX);
	const std::string hostile = "INBOX." + name_of(20000, '.', SIZE_MAX);
	Folders folders = map_and_check({box("INBOX", '.'), box(at_limit, '.'), box(deeper, '.'),
					 box(hostile, '.')},
					{{"INBOX.", '.'}});
	expect_target(folders, at_limit, name_of(max_folder_levels, '/', SIZE_MAX));
	ck_assert(!has_note(by_raw(folders, at_limit), "levels"));
	expect_target(folders, deeper, name_of(100, '/', max_folder_levels));
	ck_assert(has_note(by_raw(folders, deeper),
			   "has 100 levels; from level 64 on they are kept as one"));
	const MappedFolder &folded = by_raw(folders, hostile);
	ck_assert(folded.skip_reason.empty());
	ck_assert(folded.selectable);
	ck_assert_uint_eq(std::count(folded.target_name.begin(), folded.target_name.end(), '/'),
			  max_folder_levels - 1);
	ck_assert(has_note(folded, "has 20000 levels; from level 64 on they are kept as one"));
}
END_TEST

// The tree decodes each level once and keeps only a node's own level:
// full names (raw, display, rule path) are put together from the levels
// above it, each with the node's own separator, and a level's note
// belongs to the folder whose own level it is, not to those below it.
START_TEST(names_from_shared_levels)
{
	Folders folders = map_and_check({box("INBOX", '.'),
					 box("INBOX.&AOQ-rger.Unter&APY-rdner.Tief", '.'),
					 box("INBOX.bad&.x", '.'), box("INBOX.bad&", '.')},
					{{"INBOX.", '.'}});
	const MappedFolder *parent = by_target(folders, "\xc3\xa4rger/Unter\xc3\xb6rdner");
	ck_assert_ptr_nonnull(parent);
	ck_assert(!parent->selectable);
	ck_assert_string_eq(parent->raw_name, "INBOX.&AOQ-rger.Unter&APY-rdner");
	ck_assert_string_eq(parent->display_name, "INBOX.\xc3\xa4rger.Unter\xc3\xb6rdner");
	const MappedFolder &deep = by_raw(folders, "INBOX.&AOQ-rger.Unter&APY-rdner.Tief");
	ck_assert_string_eq(deep.display_name, "INBOX.\xc3\xa4rger.Unter\xc3\xb6rdner.Tief");
	ck_assert(has_note(by_raw(folders, "INBOX.bad&"), "not valid modified UTF-7"));
	ck_assert(!has_note(by_raw(folders, "INBOX.bad&.x"), "not valid modified UTF-7"));
	expect_target(folders, "INBOX.bad&.x", "bad&/x");

	// The same raw levels listed with another separator are one folder's
	// parent; each name is shown with its own separator.
	Folders mixed = map_and_check({box("INBOX"), box("a.b", '.'), box("a/b/c", '/')});
	expect_target(mixed, "a.b", "a/b");
	expect_target(mixed, "a/b/c", "a/b/c");
	ck_assert_string_eq(by_raw(mixed, "a/b/c").display_name, "a/b/c");
	ck_assert_string_eq(by_raw(mixed, "a.b").display_name, "a.b");
	const MappedFolder *a = by_target(mixed, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_string_eq(a->raw_name, "a");
}
END_TEST

START_TEST(escapes_names_the_target_cannot_hold)
{
	std::vector<std::string> reserved{"cur", "new", "tmp"};
	MappingOptions maildir;
	maildir.reserved_names = reserved;
	maildir.target_forbidden_chars = ".";
	std::vector<LegacyMailbox> legacy{box("INBOX"),      box("~backup"), box("a/."),
					  box("ctl&AAE-x"),  box("new"),     box("v1.0"),
					  box("a/~b")};
	Folders folders = map_and_check(legacy, {}, maildir);
	expect_target(folders, "~backup", "%7ebackup");
	expect_target(folders, "a/~b", "a/~b");
	expect_target(folders, "a/.", "a/%2e");
	expect_target(folders, "ctl&AAE-x", "ctl%01x");
	expect_target(folders, "new", "%6eew");
	expect_target(folders, "v1.0", "v1%2e0");
	for (const char *raw : {"~backup", "a/.", "ctl&AAE-x", "new", "v1.0"})
		ck_assert_msg(has_note(by_raw(folders, raw), "written as"), "%s has no note", raw);
	ck_assert(by_raw(folders, "a/~b").notes.empty());
}
END_TEST

START_TEST(shortens_over_long_names)
{
	std::string long_level(300, 'x');
	std::vector<LegacyMailbox> legacy{box("INBOX"), box(long_level), box(long_level + "y"),
					  box(long_level + "/child")};
	Folders folders = map_and_check(legacy);
	const MappedFolder &a = by_raw(folders, long_level);
	const MappedFolder &b = by_raw(folders, long_level + "y");
	ck_assert(a.target_name != b.target_name);
	ck_assert_uint_le(a.target_name.size(), 255);
	ck_assert(has_note(a, "shortened"));
	expect_target(folders, long_level + "/child", a.target_name + "/child");

	// 20 levels of 250 bytes: 5000 bytes, over the 4000-byte name limit.
	// Levels 1-16 fit (3999 bytes); level 17 cannot go below level 16 and
	// moves to the top level, its subfolders follow it.
	std::vector<LegacyMailbox> deep{box("INBOX")};
	std::vector<std::string> raws;
	for (int level = 0; level < 20; level++) {
		raws.push_back((level ? raws.back() + "/" : "") + std::string(249, 'a' + level));
		deep.push_back(box(raws.back()));
	}
	Folders deep_folders = map_and_check(deep);
	ck_assert_uint_eq(deep_folders.size(), 21);
	expect_target(deep_folders, raws[15], raws[15]);
	const MappedFolder &moved_up = by_raw(deep_folders, raws[16]);
	ck_assert_string_eq(moved_up.target_name, std::string(249, 'a' + 16));
	ck_assert(has_note(moved_up, "placed at the top level"));
	expect_target(deep_folders, raws[17], moved_up.target_name + "/" + std::string(249, 'a' + 17));

	// A name just over the limit: its last level is shortened.
	std::vector<LegacyMailbox> over{box("INBOX")};
	std::string over_raw;
	for (int level = 0; level < 16; level++)
		over_raw += (level ? "/" : "") + std::string(level < 15 ? 249 : 254, 'a' + level);
	over.push_back(box(over_raw));
	Folders over_folders = map_and_check(over);
	const MappedFolder &shortened = by_raw(over_folders, over_raw);
	ck_assert_uint_eq(shortened.target_name.size(), 4000);
	ck_assert(has_note(shortened, "last level is shortened"));

	MappingOptions small;
	small.max_name_bytes = 100;
	small.max_component_bytes = 40;
	Folders small_folders = map_and_check(deep, {}, small);
	ck_assert_uint_eq(small_folders.size(), 21);
}
END_TEST

START_TEST(keeps_invalid_modified_utf7_visible)
{
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("&Jjo"), box("\xb9\xa4\xd7\xf7"),
					  box("工作"), box("ok/&AGE-")};
	Folders folders = map_and_check(legacy);
	ck_assert_uint_eq(folders.size(), 6); // and the plain parent "ok"
	const MappedFolder &unterminated = by_raw(folders, "&Jjo");
	ck_assert_string_eq(unterminated.target_name, "&Jjo");
	ck_assert(has_note(unterminated, "not valid modified UTF-7"));
	const MappedFolder &gbk = by_raw(folders, "\xb9\xa4\xd7\xf7");
	ck_assert_string_eq(gbk.target_name, "%b9%a4%d7%f7");
	ck_assert(has_note(gbk, "not valid modified UTF-7"));
	ck_assert(has_note(gbk, "bytes that are not UTF-8"));
	ck_assert_string_eq(gbk.display_name, "%b9%a4%d7%f7");
	expect_target(folders, "工作", "工作");
	expect_target(folders, "ok/&AGE-", "ok/&AGE-");
}
END_TEST

START_TEST(disambiguates_collisions)
{
	// "é" composed and decomposed: the same name after NFC.
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("e&AwE-"), box("e&AwE-/x"),
					  box("&AOk-"), box("&AOk-/x")};
	Folders folders = map_and_check(legacy);
	const std::string e = "\xc3\xa9";
	expect_target(folders, "&AOk-", e);
	expect_target(folders, "&AOk-/x", e + "/x");
	const MappedFolder &renamed = by_raw(folders, "e&AwE-");
	ck_assert_string_eq(renamed.target_name, e + " (2)");
	ck_assert(has_note(renamed, "renamed"));
	expect_target(folders, "e&AwE-/x", e + " (2)/x");

	// The same regardless of LIST order.
	std::vector<LegacyMailbox> reversed(legacy.rbegin(), legacy.rend());
	Folders again = map_and_check(reversed);
	expect_target(again, "e&AwE-", e + " (2)");

	// Courier's "INBOX.inbox" is "inbox" at the target: INBOX itself.
	std::vector<LegacyMailbox> courier{box("INBOX", '.'), box("INBOX.inbox", '.'),
					   box("INBOX.inbox.sub", '.'), box("INBOX.inbox (2)", '.')};
	Folders inbox = map_and_check(courier, {{"INBOX.", '.'}});
	expect_target(inbox, "INBOX.inbox", "inbox (3)");
	expect_target(inbox, "INBOX.inbox.sub", "inbox (3)/sub");
	ck_assert_string_eq(by_raw(inbox, "INBOX.inbox (2)").target_name, "inbox (2)");
}
END_TEST

START_TEST(pinned_names_stay)
{
	const std::string e = "\xc3\xa9";
	MappingOptions pinned;
	pinned.pinned_targets["e&AwE-"] = e;
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("e&AwE-"), box("&AOk-")};
	Folders folders = map_and_check(legacy, {}, pinned);
	expect_target(folders, "e&AwE-", e);
	expect_target(folders, "&AOk-", e + " (2)");
}
END_TEST

// Legacy folders named like the target's shared or public namespace would
// be saved there: they are renamed into the user's own namespace, listed
// or only implied by their children, and a pin from an earlier run that
// points there is not used.
START_TEST(foreign_namespace_names_stay_private)
{
	MappingOptions options;
	options.foreign_prefixes = {"Public/", "shared/"};
	options.pinned_targets["Public2/y"] = "shared/y";
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Public"), box("Public/x"),
					  box("shared/a/b"), box("Publicity"), box("Public2/y")};
	Folders folders = map_and_check(legacy, {}, options);
	expect_target(folders, "Public", "Public (2)");
	ck_assert(has_note(by_raw(folders, "Public"), "would be in the target's namespace"));
	expect_target(folders, "Public/x", "Public (2)/x");
	expect_target(folders, "shared/a/b", "shared (2)/a/b");
	expect_target(folders, "Publicity", "Publicity");
	expect_target(folders, "Public2/y", "Public2/y");
	for (const MappedFolder &folder : folders) {
		ck_assert_msg(folder.target_name.rfind("Public/", 0) != 0 &&
				      folder.target_name.rfind("shared/", 0) != 0 &&
				      folder.target_name != "Public" && folder.target_name != "shared",
			      "%s", folder.target_name.c_str());
	}
}
END_TEST

START_TEST(roles_from_attributes_and_names)
{
	std::vector<LegacyMailbox> legacy{
		box("INBOX", '.'),
		box("INBOX.Sent Messages", '.', {"\\HasNoChildren", "\\Sent"}),
		box("INBOX.&g0l6P3ux-", '.'), // 草稿箱
		box("INBOX.&XfJSIJZk-", '.'), // 已删除
		box("INBOX.&V4NXPpCuTvY-", '.'), // 垃圾邮件
		box("INBOX.Work", '.'),
		box("INBOX.Work.Trash", '.'),
		box("INBOX.Archive", '.', {"\\Archive"}),
	};
	Folders folders = map_and_check(legacy, {{"INBOX.", '.'}});
	ck_assert(by_raw(folders, "INBOX").role == Role::inbox);
	ck_assert(by_raw(folders, "INBOX.Sent Messages").role == Role::sent);
	ck_assert(by_raw(folders, "INBOX.&g0l6P3ux-").role == Role::drafts);
	ck_assert(by_raw(folders, "INBOX.&XfJSIJZk-").role == Role::trash);
	ck_assert(by_raw(folders, "INBOX.&V4NXPpCuTvY-").role == Role::junk);
	ck_assert(has_note(by_raw(folders, "INBOX.&XfJSIJZk-"), "by its name"));
	ck_assert(by_raw(folders, "INBOX.Archive").role == Role::archive);
	ck_assert(by_raw(folders, "INBOX.Work").role == Role::none);
	// Names count only at the top level or directly under INBOX.
	ck_assert(by_raw(folders, "INBOX.Work.Trash").role == Role::none);

	std::vector<LegacyMailbox> under_inbox{box("INBOX"), box("INBOX/Drafts"),
					       box("Projects/Sent")};
	Folders nested = map_and_check(under_inbox);
	ck_assert(by_raw(nested, "INBOX/Drafts").role == Role::drafts);
	ck_assert(by_raw(nested, "Projects/Sent").role == Role::none);
}
END_TEST

START_TEST(provider_folder_names_give_roles)
{
	/* A provider whose names the general table does not know: the
	   preset's names give roles (compared like the table's, case
	   folded); the table still covers the rest. */
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Gesendet von Web"),
					  box("Papierkorb-alt"), box("Entw\xc3\xbcrfe")};
	MappingOptions options;
	options.provider_folder_names = {{"gesendet von WEB", Role::sent},
					 {"Papierkorb-alt", Role::trash}};
	Folders folders = map_and_check(legacy, {}, options);
	ck_assert(by_raw(folders, "Gesendet von Web").role == Role::sent);
	ck_assert(by_raw(folders, "Papierkorb-alt").role == Role::trash);
	ck_assert(by_raw(folders, "Entw\xc3\xbcrfe").role == Role::drafts);

	/* without the preset, they have none */
	Folders plain = map_and_check(legacy);
	ck_assert(by_raw(plain, "Gesendet von Web").role == Role::none);
	ck_assert(by_raw(plain, "Papierkorb-alt").role == Role::none);
}
END_TEST

START_TEST(one_folder_per_role)
{
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Sent"), box("Sent Items", '/', {"\\Sent"}),
					  box("Trash"), box("&XfJSIJZk-"), box("Junk", '/', {"\\Noselect"}),
					  box("Spam")};
	Folders folders = map_and_check(legacy);
	// An attribute beats a name.
	ck_assert(by_raw(folders, "Sent Items").role == Role::sent);
	ck_assert(by_raw(folders, "Sent").role == Role::none);
	ck_assert(has_note(by_raw(folders, "Sent"), "also looks like \\Sent"));
	// Two names: the earlier path in byte order ("Trash" < "已删除").
	ck_assert(by_raw(folders, "Trash").role == Role::trash);
	ck_assert(by_raw(folders, "&XfJSIJZk-").role == Role::none);
	// A \Noselect folder holds no mail and takes no role.
	ck_assert(by_raw(folders, "Junk").role == Role::none);
	ck_assert(by_raw(folders, "Spam").role == Role::junk);
}
END_TEST

START_TEST(special_use_targets)
{
	MappingOptions options;
	options.special_use_targets[Role::sent] = "Sent";
	options.special_use_targets[Role::trash] = "Trash";
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Sent Messages", '/', {"\\Sent"}),
					  box("Sent Messages/2019"), box("Sent"),
					  box("Deleted Messages")};
	Folders folders = map_and_check(legacy, {}, options);
	const MappedFolder &sent = by_raw(folders, "Sent Messages");
	ck_assert_string_eq(sent.target_name, "Sent");
	ck_assert(sent.role == Role::sent);
	expect_target(folders, "Sent Messages/2019", "Sent/2019");
	// The plain "Sent" lost the role to the attribute and keeps its mail
	// apart.
	expect_target(folders, "Sent", "Sent (2)");
	expect_target(folders, "Deleted Messages", "Trash");
}
END_TEST

START_TEST(gmail_virtual_folders)
{
	std::vector<LegacyMailbox> legacy{
		box("INBOX"),
		box("[Gmail]", '/', {"\\Noselect", "\\HasChildren"}),
		box("[Gmail]/All Mail", '/', {"\\All"}),
		box("[Gmail]/Important", '/', {"\\Important"}),
		box("[Gmail]/Starred", '/', {"\\Flagged"}),
		box("[Gmail]/Sent Mail", '/', {"\\Sent"}, true),
		box("[Gmail]/Drafts", '/', {"\\Drafts"}),
		box("[Gmail]/Spam", '/', {"\\Junk"}),
		box("[Gmail]/Trash", '/', {"\\Trash"}),
		box("Receipts", '/', {}, true),
	};
	Folders folders = map_and_check(legacy);
	for (const char *raw : {"[Gmail]/All Mail", "[Gmail]/Important", "[Gmail]/Starred"}) {
		ck_assert_msg(contains(by_raw(folders, raw).skip_reason, "Gmail"), "%s not skipped",
			      raw);
	}
	const MappedFolder &gmail = by_raw(folders, "[Gmail]");
	ck_assert(!gmail.selectable);
	ck_assert(gmail.skip_reason.empty());
	ck_assert(by_raw(folders, "[Gmail]/Sent Mail").role == Role::sent);
	ck_assert(by_raw(folders, "[Gmail]/Sent Mail").subscribed);
	ck_assert(by_raw(folders, "[Gmail]/Spam").role == Role::junk);
	ck_assert(by_raw(folders, "[Gmail]/Trash").role == Role::trash);
	ck_assert(by_raw(folders, "[Gmail]/Drafts").role == Role::drafts);
	ck_assert(by_raw(folders, "Receipts").skip_reason.empty());

	MappingOptions keep;
	keep.skip_gmail_virtual = false;
	Folders kept = map_and_check(legacy, {}, keep);
	for (const MappedFolder &folder : kept)
		ck_assert_msg(folder.skip_reason.empty(), "%s skipped", folder.raw_name.c_str());
	ck_assert(by_raw(kept, "[Gmail]/All Mail").role == Role::all);
	ck_assert(by_raw(kept, "[Gmail]/Starred").role == Role::flagged);

	// German Google Mail: localized names, recognised by attribute; an old
	// server without attributes, by the English name.
	std::vector<LegacyMailbox> german{box("INBOX"), box("[Google Mail]", '/', {"\\Noselect"}),
					  box("[Google Mail]/Alle Nachrichten", '/', {"\\All"}),
					  box("[Google Mail]/Markiert", '/', {"\\Flagged"}),
					  box("[Gmail]/All Mail"), box("All Mail")};
	Folders de = map_and_check(german);
	ck_assert(!by_raw(de, "[Google Mail]/Alle Nachrichten").skip_reason.empty());
	ck_assert(!by_raw(de, "[Google Mail]/Markiert").skip_reason.empty());
	ck_assert(!by_raw(de, "[Gmail]/All Mail").skip_reason.empty());
	ck_assert(by_raw(de, "All Mail").skip_reason.empty());
}
END_TEST

START_TEST(exclude_rules)
{
	MappingOptions options;
	options.exclude_rules = {Rule{"Trash", false, {}}, Rule{"Old%", false, {}},
				 Rule{".*归档.*", true, {}}, Rule{"notes", true, {}, true}};
	std::vector<LegacyMailbox> legacy{box("INBOX"), box("Trash"), box("Trash/2019"),
					  box("Old1"), box("Old1/keep"), box("2019&X1JoYw-"),
					  box("NOTES"), box("Work")};
	Folders folders = map_and_check(legacy, {}, options);
	ck_assert_string_eq(by_raw(folders, "Trash").skip_reason, "excluded by rule 1");
	ck_assert_string_eq(by_raw(folders, "Trash/2019").skip_reason, "excluded by rule 1");
	ck_assert_string_eq(by_raw(folders, "Old1").skip_reason, "excluded by rule 2");
	ck_assert_string_eq(by_raw(folders, "Old1/keep").skip_reason, "excluded by rule 2");
	ck_assert_string_eq(by_raw(folders, "2019&X1JoYw-").skip_reason, "excluded by rule 3");
	ck_assert_string_eq(by_raw(folders, "NOTES").skip_reason, "excluded by rule 4");
	ck_assert(by_raw(folders, "Work").skip_reason.empty());
	ck_assert(by_raw(folders, "INBOX").skip_reason.empty());
	ck_assert(has_note(by_raw(folders, "Trash"), "Trash"));

	// Rules see the path below the namespace prefix, with "/".
	MappingOptions courier_rules;
	courier_rules.exclude_rules = {Rule{"Work/*", false, {}}};
	Folders courier = map_and_check(courier_list(), {{"INBOX.", '.'}}, courier_rules);
	ck_assert_string_eq(by_raw(courier, "INBOX.Work.2019").skip_reason, "excluded by rule 1");
	ck_assert(by_raw(courier, "INBOX.Work").skip_reason.empty());
}
END_TEST

START_TEST(map_rules)
{
	MappingOptions options;
	options.map_rules = {Rule{"Old Stuff", false, "Archive/Old"},
			     Rule{"Kunden/*", false, "Customers/$1"},
			     Rule{"Projekte/(.*)", true, "Projects/$1"},
			     Rule{"&XfJT0ZAB-", false, "never used"}};
	std::vector<LegacyMailbox> legacy{box("INBOX"),          box("Old Stuff"),
					  box("Old Stuff/2019"), box("Kunden", '/', {"\\Noselect"}),
					  box("Kunden/ACME/2020"), box("Projekte/Alpha"),
					  box("Projekte")};
	Folders folders = map_and_check(legacy, {}, options);
	expect_target(folders, "Old Stuff", "Archive/Old");
	ck_assert(has_note(by_raw(folders, "Old Stuff"), "mapped by rule 1"));
	expect_target(folders, "Old Stuff/2019", "Archive/Old/2019");
	const MappedFolder *archive = by_target(folders, "Archive");
	ck_assert_ptr_nonnull(archive);
	ck_assert(!archive->selectable);
	ck_assert(archive->raw_name.empty());
	expect_target(folders, "Kunden/ACME/2020", "Customers/ACME/2020");
	expect_target(folders, "Kunden", "Kunden");
	expect_target(folders, "Projekte/Alpha", "Projects/Alpha");
	expect_target(folders, "Projekte", "Projekte");
	// The unlisted parent "Kunden/ACME" is a plain parent.
	const MappedFolder *customers = by_target(folders, "Customers/ACME");
	ck_assert_ptr_nonnull(customers);
	ck_assert(!customers->selectable);
}
END_TEST

START_TEST(orders_parents_first_and_passes_subscriptions)
{
	std::vector<LegacyMailbox> legacy{box("z/y/x", '/', {}, true), box("z", '/', {}, false),
					  box("a/b", '/', {"\\HasNoChildren"}, true),
					  box("INBOX", '/', {}, true), box("a", '/', {"\\Noselect"}, true),
					  box("gone", '/', {"\\NonExistent"}, true)};
	Folders folders = map_and_check(legacy);
	ck_assert_string_eq(folders[0].target_name, "INBOX");
	ck_assert(position(folders, "a") < position(folders, "a/b"));
	ck_assert(position(folders, "z") < position(folders, "z/y"));
	ck_assert(position(folders, "z/y") < position(folders, "z/y/x"));
	ck_assert(by_raw(folders, "z/y/x").subscribed);
	ck_assert(!by_raw(folders, "z").subscribed);
	ck_assert(by_raw(folders, "INBOX").subscribed);
	const MappedFolder &a = by_raw(folders, "a");
	ck_assert(!a.selectable);
	ck_assert(a.subscribed);
	ck_assert(a.skip_reason.empty());
	const MappedFolder &gone = by_raw(folders, "gone");
	ck_assert(!gone.selectable);
	ck_assert(contains(gone.skip_reason, "NonExistent"));
}
END_TEST

START_TEST(odd_listings)
{
	std::vector<LegacyMailbox> legacy{
		box("INBOX"),
		box("Posteingang", '/', {"\\Inbox"}), // XLIST listed INBOX again
		box("a//b"),                           // empty level
		box("Archive/", '/', {"\\Noselect"}),  // trailing separator
		box("Archive/2019"),
		box("dup"), box("dup", '/', {}, true), // LIST and LSUB merged badly
		box(""),                               // a separator probe
	};
	Folders folders = map_and_check(
		std::vector<LegacyMailbox>(legacy.begin(), legacy.end() - 1));
	ck_assert(contains(by_raw(folders, "Posteingang").skip_reason, "INBOX"));
	expect_target(folders, "a//b", "a/b");
	ck_assert(has_note(by_raw(folders, "a//b"), "empty levels"));
	expect_target(folders, "Archive/", "Archive");
	expect_target(folders, "Archive/2019", "Archive/2019");
	ck_assert(by_raw(folders, "dup").subscribed);
	ck_assert_uint_eq(std::count_if(folders.begin(), folders.end(),
					[](const MappedFolder &f) { return f.raw_name == "dup"; }),
			  1);
	ck_assert_uint_eq(map_folders(legacy, {}, {}).size(), folders.size());

	// Without INBOX in the list, XLIST's \Inbox folder is INBOX.
	Folders xlist = map_and_check({box("Posteingang", '/', {"\\Inbox"}), box("Work")});
	expect_target(xlist, "Posteingang", "INBOX");
	ck_assert(by_raw(xlist, "Posteingang").role == Role::inbox);
}
END_TEST

// A benchmark, not a timed test: prints how long a big account takes.
START_TEST(maps_a_large_account)
{
	const char *const chinese[] = {"&XfJT0ZAB-", "&g0l6P3ux-", "&X1JoYw-", "&ZeVnLIqe-", "&U,BTFw-"};
	std::vector<LegacyMailbox> legacy{box("INBOX", '.')};
	for (int top = 0; top < 100; top++) {
		std::string a = "INBOX." + std::string(chinese[top % 5]) + std::to_string(top);
		legacy.push_back(box(a, '.'));
		for (int middle = 0; middle < 10; middle++) {
			std::string b = a + ".Project " + std::to_string(middle);
			legacy.push_back(box(b, '.'));
			for (int leaf = 0; leaf < 9; leaf++)
				legacy.push_back(box(b + ".e&AwE- " + std::to_string(leaf), '.', {}, true));
		}
	}
	auto start = std::chrono::steady_clock::now();
	Folders folders = map_folders(legacy, {{"INBOX.", '.'}}, {});
	auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
	std::printf("names benchmark: %zu legacy folders mapped in %.1f ms\n", legacy.size(),
		    elapsed.count());
	check_invariants(legacy, folders);
	ck_assert_uint_eq(folders.size(), legacy.size());
	expect_target(folders, "INBOX.&XfJT0ZAB-0.Project 3.e&AwE- 7", "已发送0/Project 3/\xc3\xa9 7");
}
END_TEST

// A benchmark: 1,000 names of 64 levels each, every level its own, so
// 64,000 folders. Every level used to decode its whole path again.
START_TEST(maps_deep_names)
{
	std::vector<LegacyMailbox> legacy{box("INBOX", '.')};
	for (int name = 0; name < 1000 / sanitizer_slowdown; name++) {
		std::string raw = "INBOX";
		for (size_t level = 1; level <= max_folder_levels; level++)
			raw += ".M&AOQ-rz " + std::to_string(name) + "_" + std::to_string(level);
		legacy.push_back(box(raw, '.'));
	}
	auto start = std::chrono::steady_clock::now();
	Folders folders = map_folders(legacy, {{"INBOX.", '.'}}, {});
	auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
	std::printf("names benchmark: %zu names of %zu levels mapped in %.1f ms\n",
		    legacy.size() - 1, max_folder_levels, elapsed.count());
	ck_assert_uint_eq(folders.size(), 1 + (legacy.size() - 1) * max_folder_levels);
	const MappedFolder &last = by_raw(folders, legacy.back().raw_name);
	ck_assert_uint_eq(std::count(last.target_name.begin(), last.target_name.end(), '/'),
			  max_folder_levels - 1);
	ck_assert(last.target_name.find("M\xc3\xa4rz") == 0);
}
END_TEST

static Suite *names_mapping_suite()
{
	Suite *s = suite_create("names-mapping");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, strips_the_namespace_prefix);
	tcase_add_test(tc, detects_the_inbox_prefix_without_namespace);
	tcase_add_test(tc, other_namespace_prefixes);
	tcase_add_test(tc, maps_dot_to_slash);
	tcase_add_test(tc, maps_slash_to_dot);
	tcase_add_test(tc, nil_separator_is_flat);
	tcase_add_test(tc, nests_to_depth_ten);
	tcase_add_test(tc, folds_levels_beyond_the_limit);
	tcase_add_test(tc, names_from_shared_levels);
	tcase_add_test(tc, escapes_names_the_target_cannot_hold);
	tcase_add_test(tc, shortens_over_long_names);
	tcase_add_test(tc, keeps_invalid_modified_utf7_visible);
	tcase_add_test(tc, disambiguates_collisions);
	tcase_add_test(tc, pinned_names_stay);
	tcase_add_test(tc, foreign_namespace_names_stay_private);
	tcase_add_test(tc, roles_from_attributes_and_names);
	tcase_add_test(tc, provider_folder_names_give_roles);
	tcase_add_test(tc, one_folder_per_role);
	tcase_add_test(tc, special_use_targets);
	tcase_add_test(tc, gmail_virtual_folders);
	tcase_add_test(tc, exclude_rules);
	tcase_add_test(tc, map_rules);
	tcase_add_test(tc, orders_parents_first_and_passes_subscriptions);
	tcase_add_test(tc, odd_listings);
	suite_add_tcase(s, tc);
	// Ten thousand folders: the time is a printed figure, and Check's
	// default 4 s limit, a hang detector, is too close to it on a loaded
	// shared machine.
	TCase *large = tcase_create("large");
	tcase_set_timeout(large, 60);
	tcase_add_test(large, maps_a_large_account);
	tcase_add_test(large, maps_deep_names);
	suite_add_tcase(s, large);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({names_mapping_suite()});
}
