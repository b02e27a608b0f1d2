#include "names/role.h"

#include <strings.h>

#include <array>

namespace mailmove::names {

namespace {

struct RoleAttribute {
	const char *attribute;
	Role role;
};

// RFC 6154 and RFC 8457 (\Important) first, then XLIST's spellings.
constexpr std::array<RoleAttribute, 12> role_attributes{{
	{"\\Sent", Role::sent},
	{"\\Drafts", Role::drafts},
	{"\\Trash", Role::trash},
	{"\\Junk", Role::junk},
	{"\\Archive", Role::archive},
	{"\\All", Role::all},
	{"\\Flagged", Role::flagged},
	{"\\Important", Role::important},
	{"\\Spam", Role::junk},
	{"\\AllMail", Role::all},
	{"\\Starred", Role::flagged},
	{"\\Inbox", Role::inbox},
}};

bool equal_ignoring_ascii_case(std::string_view a, const char *b)
{
	std::string_view other(b);
	return a.size() == other.size() && strncasecmp(a.data(), b, a.size()) == 0;
}

} // namespace

const char *role_attribute(Role role)
{
	if (role == Role::none || role == Role::inbox)
		return nullptr;
	for (const RoleAttribute &entry : role_attributes) {
		if (entry.role == role)
			return entry.attribute;
	}
	return nullptr;
}

const char *role_name(Role role)
{
	switch (role) {
	case Role::none:
		return "none";
	case Role::inbox:
		return "inbox";
	case Role::sent:
		return "sent";
	case Role::drafts:
		return "drafts";
	case Role::trash:
		return "trash";
	case Role::junk:
		return "junk";
	case Role::archive:
		return "archive";
	case Role::all:
		return "all";
	case Role::flagged:
		return "flagged";
	case Role::important:
		return "important";
	}
	return "none";
}

Role role_from_attribute(std::string_view attribute)
{
	for (const RoleAttribute &entry : role_attributes) {
		if (equal_ignoring_ascii_case(attribute, entry.attribute))
			return entry.role;
	}
	return Role::none;
}

Role role_from_attributes(const std::vector<std::string> &attributes)
{
	for (const std::string &attribute : attributes) {
		Role role = role_from_attribute(attribute);
		if (role != Role::none)
			return role;
	}
	return Role::none;
}

} // namespace mailmove::names
