#include "imap/message-items.h"

namespace mailmove::imap {

const char summary_items[] = "(UID FLAGS INTERNALDATE RFC822.SIZE)";
// The header-fields literal is small and buffered by the parser: only
// BODY[] and RFC822 are streamed as message bodies.
const char identity_items[] =
	"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])";

namespace {

// Servers echo the section as they like: BODY[HEADER.FIELDS
// ("Message-ID")], lower case, other spacing.
const Value *find_header_fields_item(const std::vector<Value> &items)
{
	for (size_t i = 0; i + 1 < items.size(); i += 2) {
		if (items[i].kind == Value::Kind::atom &&
		    starts_with_ignore_case(items[i].text, "BODY[HEADER.FIELDS"))
			return &items[i + 1];
	}
	return nullptr;
}

void fill_size_and_date(uint64_t &size, std::string &internaldate,
			const std::vector<Value> &items)
{
	const Value *date = find_fetch_item(items, "INTERNALDATE");
	if (date != nullptr && date->is_string())
		internaldate = date->text;
	const Value *size_item = find_fetch_item(items, "RFC822.SIZE");
	if (size_item != nullptr && size_item->number())
		size = *size_item->number();
}

} // namespace

void fill_identity(MessageIdentity &identity, const std::vector<Value> &items)
{
	fill_size_and_date(identity.size, identity.internaldate, items);
	const Value *header = find_header_fields_item(items);
	if (header != nullptr && header->is_string())
		identity.message_id = message_id_from_header(header->text);
}

std::string message_id_from_header(std::string_view header)
{
	std::string value;
	bool in_message_id = false;
	while (!header.empty()) {
		size_t end = header.find('\n');
		std::string_view line = header.substr(0, end);
		header.remove_prefix(end == std::string_view::npos ? header.size() : end + 1);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.empty())
			break; // the end of the header
		if (line.front() == ' ' || line.front() == '\t') {
			// Unfolding (RFC 5322 2.2.3) drops only the line break.
			if (in_message_id)
				value += line;
			continue;
		}
		if (in_message_id)
			break;
		size_t colon = line.find(':');
		if (colon != std::string_view::npos &&
		    equals_ignore_case(trim_blanks(line.substr(0, colon)), "Message-ID")) {
			in_message_id = true;
			value = line.substr(colon + 1);
		}
	}
	return std::string(trim_blanks(value));
}

} // namespace mailmove::imap
