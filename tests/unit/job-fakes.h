// What the job table and service core tests share: a clock moved by hand,
// a logger that keeps what it was told, and reading one key of a STATUS
// reply line.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/logger.h"
#include "jobs/clock.h"
#include "base/line-codec.h"

class FakeClock final : public mailmove::jobs::Clock {
public:
	explicit FakeClock(std::time_t start) : now_(start) {}
	std::time_t now() const override { return now_; }
	void advance(std::time_t seconds) { now_ += seconds; }

private:
	std::time_t now_;
};

class CapturingLogger final : public mailmove::Logger {
public:
	void log(mailmove::LogLevel level, std::string_view message) override
	{
		lines.emplace_back(level, std::string(message));
	}
	bool logged(std::string_view part) const
	{
		for (const auto &[level, line] : lines) {
			if (line.find(part) != std::string::npos)
				return true;
		}
		return false;
	}

	std::vector<std::pair<mailmove::LogLevel, std::string>> lines;
};

// The value of key in a "key=value" reply line, "" when absent.
inline std::string reply_field(const std::string &line, const std::string &key)
{
	mailmove::KeyValues values =
		mailmove::from_key_value_fields(mailmove::split_fields(line));
	auto it = values.find(key);
	return it == values.end() ? std::string() : it->second;
}
