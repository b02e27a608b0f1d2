#include "names/target-namer.h"

#include <strings.h>

namespace mailmove::names {

namespace {

// Enough for one character, "~" and the 8-digit hash.
constexpr size_t shortest_leaf = 16;

std::string abbreviated(std::string_view text)
{
	constexpr size_t keep = 60;
	if (text.size() <= keep)
		return std::string(text);
	size_t cut = keep;
	while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
		cut--; // not inside a UTF-8 character
	return std::string(text.substr(0, cut)) + "…";
}

std::string join_reasons(const std::vector<std::string> &reasons)
{
	std::string joined;
	for (const std::string &reason : reasons) {
		if (!joined.empty())
			joined += "; ";
		joined += reason;
	}
	return joined;
}

} // namespace

TargetNamer::TargetNamer(const MappingOptions &options)
	: options_(options), top_(options.target_prefix)
{
	level_rules_.separator = options.target_separator;
	level_rules_.forbidden = options_.target_forbidden_chars;
	level_rules_.reserved = &options_.reserved_names;
	if (!top_.empty() && top_.back() != options.target_separator)
		top_ += options.target_separator;
}

const std::string *TargetNamer::foreign_namespace(const std::string &name) const
{
	for (const std::string &prefix : options_.foreign_prefixes) {
		std::string_view bare = prefix;
		if (!bare.empty() && bare.back() == options_.target_separator)
			bare.remove_suffix(1);
		if (bare.empty())
			continue;
		/* Dovecot takes both "Public" and "Public/..." for the
		   namespace "Public/". */
		if (name == bare || (name.size() > bare.size() &&
				     name.compare(0, bare.size(), bare) == 0 &&
				     name[bare.size()] == options_.target_separator))
			return &prefix;
	}
	return nullptr;
}

std::string TargetNamer::fit_leaf(const std::string &base, std::string_view level,
				  std::string_view suffix) const
{
	size_t used = stored_length(base);
	size_t room = used < options_.max_name_bytes ? options_.max_name_bytes - used : 0;
	return fit_level(level, std::min(room, options_.max_component_bytes), suffix);
}

ComposedName TargetNamer::compose(const std::string &parent_name,
				  const std::vector<std::string> &levels) const
{
	ComposedName name;
	name.base = parent_name.empty() ? top_ : parent_name + options_.target_separator;
	for (size_t i = 0; i < levels.size(); i++) {
		EscapedLevel escaped = escape_level(levels[i], name.base == top_, level_rules_);
		if (!escaped.reasons.empty()) {
			name.notes.push_back("level \"" + abbreviated(levels[i]) + "\" written as \"" +
					     abbreviated(escaped.text) +
					     "\": " + join_reasons(escaped.reasons));
		}
		std::string fitted = fit_level(escaped.text, options_.max_component_bytes);
		if (fitted != escaped.text) {
			name.notes.push_back("level \"" + abbreviated(escaped.text) + "\" is longer than " +
					     std::to_string(options_.max_component_bytes) +
					     " bytes; shortened to \"" + abbreviated(fitted) + "\"");
		}
		if (i + 1 == levels.size()) {
			name.escaped_leaf = std::move(escaped.text);
			name.leaf = std::move(fitted);
		} else {
			name.base += fitted;
			name.base += options_.target_separator;
		}
	}

	if (stored_length(name.full()) <= options_.max_name_bytes)
		return name;
	std::string too_long = std::to_string(options_.max_name_bytes);
	if (stored_length(name.base) + shortest_leaf > options_.max_name_bytes) {
		// The parents alone fill the name: only the top level has room.
		std::string parents = name.base;
		name.base = top_;
		name.escaped_leaf = escape_level(levels.back(), true, level_rules_).text;
		name.leaf = fit_leaf(name.base, name.escaped_leaf, {});
		name.notes.push_back("below \"" + abbreviated(parents) + "\" the name would be over " +
				     too_long + " bytes; placed at the top level as \"" +
				     abbreviated(name.full()) + "\"");
		return name;
	}
	name.leaf = fit_leaf(name.base, name.escaped_leaf, {});
	name.notes.push_back("the name would be over " + too_long +
			     " bytes; its last level is shortened to \"" + abbreviated(name.leaf) +
			     "\"");
	return name;
}

std::string TargetNamer::key(const std::string &name) const
{
	char separator = options_.target_separator;
	if (name.size() >= 5 && strncasecmp(name.c_str(), "INBOX", 5) == 0 &&
	    (name.size() == 5 || name[5] == separator))
		return "INBOX" + name.substr(5);
	return name;
}

void TargetNamer::claim(const std::string &name, bool soft, const std::string &holder)
{
	auto [claim, added] = claims_.try_emplace(key(name), Claim{soft, holder});
	if (!added && claim->second.soft && !soft)
		claim->second = Claim{false, holder};
}

const std::string *TargetNamer::hard_holder(const std::string &name) const
{
	auto found = claims_.find(key(name));
	if (found == claims_.end() || found->second.soft)
		return nullptr;
	return &found->second.holder;
}

void TargetNamer::reserve(const std::string &name)
{
	reserved_.insert(key(name));
}

std::string TargetNamer::disambiguate(const ComposedName &name) const
{
	for (unsigned n = 2;; n++) {
		std::string candidate =
			name.base + fit_leaf(name.base, name.escaped_leaf, " (" + std::to_string(n) + ")");
		std::string candidate_key = key(candidate);
		if (claims_.count(candidate_key) == 0 && reserved_.count(candidate_key) == 0)
			return candidate;
	}
}

} // namespace mailmove::names
