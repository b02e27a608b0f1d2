// Legacy mail providers as data: what a hosted provider's IMAP and POP3
// servers are, the MX hosts that give a domain away as theirs, and the
// quirks ("dialect") a move must respect. The presets come from an
// installed file (data/providers.conf) that an admin can extend or
// override with a second file; see that file for the format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "source/throttling.h"

namespace mailmove::providers {

// When the IMAP client sends RFC 2971 ID. Coremail (NetEase) refuses
// SELECT/EXAMINE unless ID came after LOGIN.
enum class IdTiming { none, before_login, after_login, both };

const char *id_timing_name(IdTiming timing);

// One localized special folder: the legacy name and its RFC 6154 role
// ("\\Sent", "\\Trash", "\\Junk", "\\Drafts", "\\Archive").
struct FolderRole {
	std::string role;
	std::string legacy_name;
};

struct Preset {
	std::string name;  // the section name: what --provider and userdb use
	std::string title; // for people
	// Canonical source URLs (source/source-url.h); empty when the provider
	// has no such server.
	std::string imap;
	std::string pop3;
	// Other servers of the same accounts (e.g. an overseas entry point).
	std::vector<std::string> imap_alternatives;
	// Host name patterns of the MX records that identify the provider
	// (see host_pattern_matches()).
	std::vector<std::string> mx_patterns;
	IdTiming id = IdTiming::before_login;
	std::vector<FolderRole> folders;
	// Simultaneous IMAP connections the provider allows per account; 0 =
	// not known.
	unsigned max_connections = 0;
	// Bytes per account and day the provider lets IMAP download; 0 = none.
	uint64_t daily_download_bytes = 0;
	// Texts in a server's answer that mean "too fast, try later", and
	// how long a move waits after one.
	source::Throttling throttling;
	// What an admin must do when the provider refuses the login.
	std::string auth_hint;
	// The provider refuses passwords: only OAuth2 logs in.
	bool oauth2_only = false;
	// false: no primary source confirmed the facts (see note).
	bool confirmed = true;
	std::string note;
	// "file:line" of the section, for messages.
	std::string origin;
};

// '*' matches any run of characters (also dots), '?' one character; no
// other special characters; case-insensitive; a trailing dot on host (an
// absolute DNS name) is ignored.
bool host_pattern_matches(std::string_view pattern, std::string_view host);

class PresetTable {
public:
	// Adds the sections of one file's text. A section whose name is
	// already known replaces the earlier one (an admin's file overrides
	// the installed one); "disabled = yes" removes it. Throws a
	// permanent Failure naming origin and line for anything it does not
	// understand, leaving the table as it was.
	void load_text(std::string_view text, const std::string &origin);
	// load_text() of a file's contents; a missing file is fine when
	// optional (the admin's override usually does not exist).
	void load_file(const std::string &path, bool optional);

	const std::vector<Preset> &presets() const { return presets_; }
	const Preset *find(std::string_view name) const;
	// The first preset (in file order) with a pattern matching host, and
	// the pattern; nullptr when none.
	const Preset *match_host(std::string_view host, std::string *pattern_r = nullptr) const;

private:
	std::vector<Preset> presets_;
};

// The installed presets then the admin's overrides: PresetTable of
// installed_path (must exist) and override_path (optional).
PresetTable load_presets(const std::string &installed_path, const std::string &override_path);

} // namespace mailmove::providers
