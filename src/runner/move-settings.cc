#include "runner/move-settings.h"

#include "base/failure.h"
#include "base/line-codec.h"
#include "move/folder-schedule.h"
#include "names/folder-settings.h"
#include "runner/user-settings.h"
#include "storage/dovecot-headers.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>

namespace mailmove::runner {

namespace {

[[noreturn]] void invalid(const char *name, const std::string &value, const char *expected)
{
	throw Failure(FailureKind::permanent,
		      std::string("invalid ") + name + " = " + value + " (expected " + expected + ")");
}

// YYYY-MM-DD as the unix time of that day's start (UTC); 0 when unset.
int64_t date_setting(struct mail_user *user, const char *name)
{
	std::string value = plugin_setting(user, name, "");
	if (value.empty())
		return 0;
	struct tm tm = {};
	const char *end = strptime(value.c_str(), "%Y-%m-%d", &tm);
	if (end == nullptr || *end != '\0')
		invalid(name, value, "a date YYYY-MM-DD");
	return int64_t(timegm(&tm));
}

// Bytes, with an optional k/M/G suffix (powers of 1024).
uint64_t size_setting(struct mail_user *user, const char *name)
{
	std::string value = plugin_setting(user, name, "0");
	std::string digits = value;
	uint64_t unit = 1;
	if (!digits.empty() && std::isalpha((unsigned char)digits.back())) {
		switch (std::tolower((unsigned char)digits.back())) {
		case 'k':
			unit = 1024;
			break;
		case 'm':
			unit = 1024 * 1024;
			break;
		case 'g':
			unit = 1024 * 1024 * 1024;
			break;
		default:
			invalid(name, value, "a size such as 50M");
		}
		digits.pop_back();
	}
	auto number = parse_decimal<uint64_t>(digits);
	if (!number)
		invalid(name, value, "a size such as 50M");
	return *number * unit;
}

} // namespace

uint64_t read_max_message_size(struct mail_user *user)
{
	return size_setting(user, "mailmove_max_message_size");
}

storage::SaveSync read_save_sync(struct mail_user *user)
{
	std::string sync = plugin_setting(user, "mailmove_save_sync", "batch");
	if (sync == "message")
		return storage::SaveSync::message;
	if (sync != "batch")
		invalid("mailmove_save_sync", sync, "batch or message");
	return storage::SaveSync::batch;
}

move::MoveOptions read_move_options(struct mail_user *user)
{
	move::MoveOptions options;

	std::string order = plugin_setting(user, "mailmove_order", "newest-first");
	if (order == "uid")
		options.order = move::MoveOrder::uid;
	else if (order != "newest-first")
		invalid("mailmove_order", order, "newest-first or uid");

	std::string days = plugin_setting(user, "mailmove_recent_days", "30");
	auto recent = parse_decimal<int>(days);
	if (!recent)
		invalid("mailmove_recent_days", days, "a number of days");
	options.recent_days = *recent;

	std::string connections = plugin_setting(user, "mailmove_folder_connections", "1");
	auto folder_connections = parse_decimal<unsigned>(connections);
	if (!folder_connections || *folder_connections == 0 || *folder_connections > 16)
		invalid("mailmove_folder_connections", connections, "a number from 1 to 16");
	options.folder_connections = *folder_connections;

	std::string head = plugin_setting(user, "mailmove_first_inbox_messages", "200");
	auto first_inbox = parse_decimal<size_t>(head);
	if (!first_inbox)
		invalid("mailmove_first_inbox_messages", head, "a number of messages");
	options.first_inbox_messages = *first_inbox;

	options.filter.since = date_setting(user, "mailmove_since");
	options.filter.before = date_setting(user, "mailmove_before");
	options.filter.max_size = read_max_message_size(user);
	options.filter.skip_deleted = plugin_setting_bool(user, "mailmove_skip_deleted", true);

	names::read_folder_settings(
		[user](const std::string &name) { return plugin_setting(user, name.c_str(), ""); },
		options.mapping);
	return options;
}

void limit_folder_connections(struct mail_user *user, unsigned account_cap,
			      move::MoveOptions &options)
{
	/* The service's settings, which it checks itself: a value it would
	   refuse cannot reach a worker, so unreadable means unset here. */
	auto service_number = [user](const char *name, unsigned unset) {
		auto number = parse_decimal<unsigned>(plugin_setting(user, name, ""));
		return number ? *number : unset;
	};
	unsigned host_limit = service_number("mailmove_max_per_host", 0);
	if (account_cap != 0 && (host_limit == 0 || account_cap < host_limit))
		host_limit = account_cap;
	unsigned per_move = move::connections_within_host_limit(
		host_limit, service_number("mailmove_max_workers", 4));
	options.folder_connections =
		move::folder_connections(options.folder_connections, account_cap, SIZE_MAX);
	if (per_move != 0)
		options.folder_connections = std::min(options.folder_connections, per_move);
}

} // namespace mailmove::runner
