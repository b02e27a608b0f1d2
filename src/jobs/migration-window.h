// The migration window: the period in which moves run, per domain or for
// every domain. A domain's window opens with its first job (the admin
// enabled moving for it by setting its source) unless an admin opened one
// explicitly; it closes after mailmove_window (30 days by default). After
// it closes no job or pass starts, running ones finish their pass, and
// unfinished jobs become expired. `doveadm mailmove window` shows and
// reopens windows.
//
// Scopes: a domain ("example.com"; "" for user names without one), or "*"
// for every domain without a window of its own.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/line-codec.h"

namespace mailmove::jobs {

inline constexpr std::string_view every_domain_scope = "*";

struct MigrationWindow {
	std::string scope;
	std::time_t opens = 0;
	std::time_t closes = 0; // 0: never
	std::time_t updated = 0;

	bool is_open(std::time_t now) const
	{
		return opens <= now && (closes == 0 || now < closes);
	}
	bool operator==(const MigrationWindow &other) const = default;
};

KeyValues window_to_key_values(const MigrationWindow &window);
// nullopt when the scope is missing.
std::optional<MigrationWindow> window_from_key_values(const KeyValues &values);

// The windows in force, and which one applies to a user.
class WindowTable {
public:
	// length_secs: how long a window opened by a domain's first job
	// stays open (0: never closes).
	explicit WindowTable(std::time_t default_length_secs)
		: default_length_(default_length_secs) {}

	void load(const std::vector<MigrationWindow> &windows);

	// The domain's own window, else the one for every domain.
	const MigrationWindow *window_of_domain(std::string_view domain) const;
	// Whether a job of the domain may start a run now. A domain without
	// any window has not started yet: its first job opens its window.
	bool is_open(std::string_view domain, std::time_t now) const;
	// The window to store when a domain's first job arrives, or nullopt
	// when a window already applies to the domain.
	std::optional<MigrationWindow> window_to_open_for(std::string_view domain,
							  std::time_t now) const;

	// Records a window (opened, reopened or closed).
	void set(const MigrationWindow &window);
	const std::map<std::string, MigrationWindow, std::less<>> &all() const { return windows_; }

	// The earliest moment after now at which a window closes; 0 if none.
	std::time_t next_close_after(std::time_t now) const;

private:
	std::time_t default_length_;
	std::map<std::string, MigrationWindow, std::less<>> windows_;
};

} // namespace mailmove::jobs
