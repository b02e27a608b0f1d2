#include "providers/preset.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/failure.h"
#include "base/line-codec.h"
#include "base/text.h"
#include "jobs/user-mask.h"
#include "source/source-url.h"

namespace mailmove::providers {

namespace {

std::string_view trim(std::string_view text)
{
	while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
		text.remove_prefix(1);
	while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
		text.remove_suffix(1);
	return text;
}

std::vector<std::string> split_words(std::string_view text)
{
	std::vector<std::string> words;
	std::istringstream in{std::string(text)};
	std::string word;
	while (in >> word)
		words.push_back(word);
	return words;
}

// Thrown inside the parser; load_text() adds the file and line.
struct SyntaxError {
	std::string message;
};

bool parse_bool(std::string_view value)
{
	if (value == "yes")
		return true;
	if (value == "no")
		return false;
	throw SyntaxError{"expected yes or no, not '" + std::string(value) + "'"};
}

// "2500M", "10G", "512k", "1000": bytes.
uint64_t parse_size(std::string_view value)
{
	uint64_t unit = 1;
	if (!value.empty()) {
		switch (value.back()) {
		case 'k': case 'K': unit = 1024; break;
		case 'M': unit = 1024 * 1024; break;
		case 'G': unit = 1024ULL * 1024 * 1024; break;
		}
		if (unit != 1)
			value.remove_suffix(1);
	}
	std::optional<uint64_t> number = parse_decimal<uint64_t>(value);
	if (!number || *number > UINT64_MAX / unit)
		throw SyntaxError{"invalid size (expected a number with k, M or G)"};
	return *number * unit;
}

// "90s", "15m", "2h", "300" (seconds): at least a second, at most
// Throttling::max_backoff.
std::chrono::seconds parse_duration(std::string_view value)
{
	uint64_t unit = 1;
	if (!value.empty()) {
		switch (value.back()) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		}
		if (value.back() == 's' || value.back() == 'm' || value.back() == 'h')
			value.remove_suffix(1);
	}
	std::optional<uint64_t> number = parse_decimal<uint64_t>(value);
	if (!number || *number == 0 ||
	    *number > uint64_t(source::Throttling::max_backoff.count()) / unit)
		throw SyntaxError{"invalid duration (expected 1s to 24h: a number with s, m or h)"};
	return std::chrono::seconds(*number * unit);
}

IdTiming parse_id_timing(std::string_view value)
{
	for (IdTiming timing : {IdTiming::none, IdTiming::before_login, IdTiming::after_login,
				IdTiming::both}) {
		if (value == id_timing_name(timing))
			return timing;
	}
	throw SyntaxError{"id must be none, before-login, after-login or both"};
}

std::string parse_url(std::string_view value, source::Protocol protocol)
{
	std::string error;
	auto url = source::parse_source_url(value, error);
	if (!url)
		throw SyntaxError{error};
	if (url->protocol != protocol) {
		throw SyntaxError{protocol == source::Protocol::imap ?
					  "expected an imap:// or imaps:// URL" :
					  "expected a pop3:// or pop3s:// URL"};
	}
	return url->to_string();
}

bool is_valid_name(std::string_view name)
{
	if (name.empty())
		return false;
	for (char c : name) {
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

constexpr std::string_view folder_key_prefix = "folder_";

void set_field(Preset &preset, std::string_view key, std::string_view value, bool &disabled)
{
	if (key == "title")
		preset.title = value;
	else if (key == "imap")
		preset.imap = value.empty() ? "" : parse_url(value, source::Protocol::imap);
	else if (key == "pop3")
		preset.pop3 = value.empty() ? "" : parse_url(value, source::Protocol::pop3);
	else if (key == "imap_alternative")
		preset.imap_alternatives.push_back(parse_url(value, source::Protocol::imap));
	else if (key == "mx") {
		for (std::string &pattern : split_words(value))
			preset.mx_patterns.push_back(to_lower(pattern));
	} else if (key == "id")
		preset.id = parse_id_timing(value);
	else if (key.substr(0, folder_key_prefix.size()) == folder_key_prefix) {
		std::string role = to_lower(key.substr(folder_key_prefix.size()));
		if (role != "sent" && role != "drafts" && role != "trash" && role != "junk" &&
		    role != "archive")
			throw SyntaxError{"unknown folder role '" + role +
					  "' (sent, drafts, trash, junk or archive)"};
		if (value.empty())
			throw SyntaxError{"empty folder name"};
		role[0] = static_cast<char>(role[0] - 'a' + 'A');
		preset.folders.push_back({"\\" + role, std::string(value)});
	} else if (key == "max_connections") {
		std::optional<unsigned> n = parse_decimal<unsigned>(value);
		if (!n)
			throw SyntaxError{"max_connections must be a number"};
		preset.max_connections = *n;
	} else if (key == "daily_download")
		preset.daily_download_bytes = parse_size(value);
	else if (key == "throttle") {
		if (value.empty())
			throw SyntaxError{"empty throttle answer"};
		preset.throttling.answers.emplace_back(value);
	} else if (key == "throttle_backoff")
		preset.throttling.backoff = parse_duration(value);
	else if (key == "auth_hint")
		preset.auth_hint = value;
	else if (key == "oauth2_only")
		preset.oauth2_only = parse_bool(value);
	else if (key == "confirmed")
		preset.confirmed = parse_bool(value);
	else if (key == "note")
		preset.note = value;
	else if (key == "disabled")
		disabled = parse_bool(value);
	else
		throw SyntaxError{"unknown key '" + std::string(key) + "'"};
}

} // namespace

const char *id_timing_name(IdTiming timing)
{
	switch (timing) {
	case IdTiming::none:
		return "none";
	case IdTiming::before_login:
		return "before-login";
	case IdTiming::after_login:
		return "after-login";
	case IdTiming::both:
		return "both";
	}
	return "before-login";
}

bool host_pattern_matches(std::string_view pattern, std::string_view host)
{
	if (!host.empty() && host.back() == '.')
		host.remove_suffix(1);
	if (!pattern.empty() && pattern.back() == '.')
		pattern.remove_suffix(1);
	/* The same '*' and '?' as the service's user masks. */
	return !host.empty() && jobs::UserMask(to_lower(pattern)).matches(to_lower(host));
}

void PresetTable::load_text(std::string_view text, const std::string &origin)
{
	std::vector<Preset> loaded = presets_;
	Preset *current = nullptr;
	bool disabled = false;
	unsigned line_number = 0;

	auto finish_section = [&]() {
		if (current != nullptr && disabled) {
			std::string name = current->name;
			std::erase_if(loaded, [&](const Preset &p) { return p.name == name; });
		}
		current = nullptr;
		disabled = false;
	};

	try {
		while (!text.empty()) {
			size_t end = text.find('\n');
			std::string_view line = trim(text.substr(0, end));
			text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
			line_number++;
			if (line.empty() || line.front() == '#' || line.front() == ';')
				continue;
			if (line.front() == '[') {
				if (line.back() != ']')
					throw SyntaxError{"expected [name]"};
				std::string name(trim(line.substr(1, line.size() - 2)));
				if (!is_valid_name(name))
					throw SyntaxError{"invalid provider name '" + name +
							  "' (a-z, 0-9, '-', '_', '.')"};
				finish_section();
				std::erase_if(loaded, [&](const Preset &p) { return p.name == name; });
				Preset &preset = loaded.emplace_back();
				preset.name = name;
				preset.origin = origin + ":" + std::to_string(line_number);
				current = &preset;
				continue;
			}
			size_t equals = line.find('=');
			if (equals == std::string_view::npos)
				throw SyntaxError{"expected key = value"};
			if (current == nullptr)
				throw SyntaxError{"key = value before the first [name]"};
			set_field(*current, trim(line.substr(0, equals)),
				  trim(line.substr(equals + 1)), disabled);
		}
		finish_section();
	} catch (const SyntaxError &error) {
		throw Failure(FailureKind::permanent,
			      origin + ":" + std::to_string(line_number) + ": " + error.message);
	}
	presets_ = std::move(loaded);
}

void PresetTable::load_file(const std::string &path, bool optional)
{
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		if (optional && errno == ENOENT)
			return;
		throw Failure(FailureKind::permanent,
			      "cannot read provider presets " + path + ": " + std::strerror(errno));
	}
	std::ostringstream contents;
	contents << in.rdbuf();
	load_text(contents.str(), path);
}

const Preset *PresetTable::find(std::string_view name) const
{
	std::string wanted = to_lower(name);
	for (const Preset &preset : presets_) {
		if (preset.name == wanted)
			return &preset;
	}
	return nullptr;
}

const Preset *PresetTable::match_host(std::string_view host, std::string *pattern_r) const
{
	for (const Preset &preset : presets_) {
		for (const std::string &pattern : preset.mx_patterns) {
			if (host_pattern_matches(pattern, host)) {
				if (pattern_r != nullptr)
					*pattern_r = pattern;
				return &preset;
			}
		}
	}
	return nullptr;
}

PresetTable load_presets(const std::string &installed_path, const std::string &override_path)
{
	PresetTable table;
	table.load_file(installed_path, false);
	if (!override_path.empty())
		table.load_file(override_path, true);
	return table;
}

} // namespace mailmove::providers
