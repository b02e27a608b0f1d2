// The lines of POP3 multi-line listings: LIST ("1 1205"), UIDL
// ("1 whqtswO00WBw418f9t5JxYwZ") and CAPA ("SASL PLAIN LOGIN"). Servers
// differ in spacing (several spaces, tabs, trailing blanks) and may add
// words after the ones RFC 1939 defines; those are ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::pop3 {

struct ListEntry {
	uint32_t number = 0;
	uint64_t size = 0; // octets as the server counts them (CRLF lines)
};

struct UidlEntry {
	uint32_t number = 0;
	std::string uidl;
};

// STAT's answer ("+OK 2 320": "2 320"): messages and octets.
struct MaildropSize {
	uint32_t messages = 0;
	uint64_t octets = 0;
};
std::optional<MaildropSize> parse_stat_text(std::string_view text);

// nullopt for a line that is not "<number> <size>" (number >= 1).
std::optional<ListEntry> parse_list_line(std::string_view line);
// nullopt for a line that is not "<number> <uidl>" (number >= 1).
std::optional<UidlEntry> parse_uidl_line(std::string_view line);

// What CAPA announced: upper-cased names, each with its arguments as sent
// ("SASL" -> {"PLAIN", "LOGIN"}).
class Capabilities {
public:
	void add_line(std::string_view line);
	bool has(std::string_view name) const; // name in any case
	// The arguments of name (empty when it has none or is absent).
	const std::vector<std::string> &arguments(std::string_view name) const;
	// SASL lists the mechanism (case-insensitive).
	bool has_sasl(std::string_view mechanism) const;
	bool empty() const { return entries_.empty(); }
	void clear() { entries_.clear(); }

private:
	std::map<std::string, std::vector<std::string>> entries_;
};

} // namespace mailmove::pop3
