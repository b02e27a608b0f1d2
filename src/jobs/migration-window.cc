#include "jobs/migration-window.h"

#include "jobs/job.h"

namespace mailmove::jobs {

KeyValues window_to_key_values(const MigrationWindow &window)
{
	return {
		{"scope", window.scope},
		{"opens", format_utc_time(window.opens)},
		{"closes", format_utc_time(window.closes)},
		{"updated", format_utc_time(window.updated)},
	};
}

std::optional<MigrationWindow> window_from_key_values(const KeyValues &values)
{
	auto scope = values.find("scope");
	if (scope == values.end())
		return std::nullopt;
	MigrationWindow window;
	window.scope = scope->second;
	for (auto [key, field] : {std::pair{"opens", &window.opens},
				  std::pair{"closes", &window.closes},
				  std::pair{"updated", &window.updated}}) {
		auto it = values.find(key);
		if (it == values.end())
			continue;
		std::optional<std::time_t> when = parse_utc_time(it->second);
		if (!when)
			return std::nullopt;
		*field = *when;
	}
	return window;
}

void WindowTable::load(const std::vector<MigrationWindow> &windows)
{
	windows_.clear();
	for (const MigrationWindow &window : windows)
		windows_[window.scope] = window;
}

const MigrationWindow *WindowTable::window_of_domain(std::string_view domain) const
{
	auto it = windows_.find(domain);
	if (it == windows_.end())
		it = windows_.find(every_domain_scope);
	return it == windows_.end() ? nullptr : &it->second;
}

bool WindowTable::is_open(std::string_view domain, std::time_t now) const
{
	const MigrationWindow *window = window_of_domain(domain);
	return window == nullptr || window->is_open(now);
}

std::optional<MigrationWindow> WindowTable::window_to_open_for(std::string_view domain,
								std::time_t now) const
{
	if (window_of_domain(domain) != nullptr)
		return std::nullopt;
	MigrationWindow window;
	window.scope = domain;
	window.opens = now;
	window.closes = default_length_ == 0 ? 0 : now + default_length_;
	window.updated = now;
	return window;
}

void WindowTable::set(const MigrationWindow &window)
{
	windows_[window.scope] = window;
}

std::time_t WindowTable::next_close_after(std::time_t now) const
{
	std::time_t next = 0;
	for (const auto &[scope, window] : windows_) {
		if (window.closes > now && (next == 0 || window.closes < next))
			next = window.closes;
	}
	return next;
}

} // namespace mailmove::jobs
