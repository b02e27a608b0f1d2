// The IMAP response parser and what reads its responses (LIST, NAMESPACE,
// FETCH items, INTERNALDATE) on bytes from a hostile server, cut into
// chunks at every possible point. Malformed input must end in
// mailmove::Failure, never in a crash, a hang or unbounded memory.
#include <cstdint>

#include "base/failure.h"
#include "fuzz/fuzz-input.h"
#include "imap/mailbox-list.h"
#include "imap/message-items.h"
#include "imap/message-summaries.h"
#include "imap/response-parser.h"

using namespace mailmove;
using namespace mailmove::imap;

namespace {

void read_response(const Response &response, MailboxListCollector &collector)
{
	if (std::optional<ListedMailbox> listed = parse_list_response(response))
		translate_xlist_attributes(*listed);
	parse_personal_namespaces(response);
	collector.on_untagged(response);
	if (const std::vector<Value> *items = fetch_items(response)) {
		MessageSummaries summaries;
		summaries.add(fetch_uid(*items), *items);
		summaries.finish();
		MessageIdentity identity;
		fill_identity(identity, *items);
		parse_internaldate(identity.internaldate);
		find_message_body_item(*items);
	}
	response.code.number<uint32_t>();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::FuzzInput input(data, size);
	size_t chunk = fuzz::chunk_size(input.byte());
	ParserLimits limits;
	limits.max_response_bytes = 64 * 1024; // small, so the limit is reached too
	limits.stream_message_bodies = (input.byte() & 1) == 0;
	ResponseParser parser(limits);
	MailboxListCollector collector(ListCommand::list_extended);
	try {
		while (!input.empty()) {
			std::string_view piece = input.take(chunk);
			while (!piece.empty()) {
				size_t consumed = 0;
				ResponseParser::Status status = parser.feed(piece, consumed);
				piece.remove_prefix(consumed);
				if (status == ResponseParser::Status::response) {
					read_response(parser.take_response(), collector);
				} else if (status == ResponseParser::Status::message_body) {
					// The caller reads the body itself: skip it.
					// piece lies just before the rest of the input.
					uint64_t body = parser.message_body_size();
					std::string_view after(piece.data(), piece.size() + input.rest().size());
					if (body > after.size())
						return 0;
					input = fuzz::FuzzInput(after.substr(body));
					piece = {};
					parser.message_body_done();
				} else if (consumed == 0) {
					break;
				}
			}
		}
		collector.take();
	} catch (const Failure &) {
		// Refused as malformed or oversized: what a hostile server earns.
	}
	return 0;
}
