// Folder names from a hostile IMAP server: modified UTF-7 decoding and
// encoding (a decoded name must encode back to a name that decodes to
// the same text), and the whole mapping of a LIST answer onto the target
// (levels, namespaces, escaping, roles, unique names), which must give
// every selectable folder a distinct target name.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "base/failure.h"
#include "fuzz/fuzz-input.h"
#include "names/folder-mapper.h"
#include "names/mutf7.h"

using namespace mailmove;
using namespace mailmove::names;

namespace {

void check_mutf7(std::string_view raw)
{
	std::optional<std::string> decoded = decode_mutf7(raw);
	if (!decoded)
		return;
	std::string encoded = encode_mutf7(*decoded);
	if (encoded.size() != mutf7_length(*decoded))
		abort();
	std::optional<std::string> again = decode_mutf7(encoded);
	if (!again || *again != *decoded)
		abort();
}

// One LIST entry per input line: "<separator byte><attribute bits><name>".
std::vector<LegacyMailbox> listed_mailboxes(fuzz::FuzzInput &input)
{
	static const char *const attributes[] = {
		"\\Noselect", "\\NonExistent", "\\Sent", "\\Trash", "\\All", "\\Inbox",
		"\\Drafts", "\\Junk",
	};
	std::vector<LegacyMailbox> mailboxes;
	while (!input.empty() && mailboxes.size() < 64) {
		LegacyMailbox mailbox;
		uint8_t separator = input.byte();
		mailbox.separator = separator % 4 == 0 ? 0 : separator % 4 == 1 ? '.' :
				    separator % 4 == 2 ? '/' : static_cast<char>(separator);
		uint8_t bits = input.byte();
		for (size_t i = 0; i < 8; i++) {
			if (bits & (1u << i))
				mailbox.attributes.emplace_back(attributes[i]);
		}
		mailbox.subscribed = (separator & 0x80) != 0;
		mailbox.raw_name = std::string(input.take_until('\n'));
		check_mutf7(mailbox.raw_name);
		mailboxes.push_back(std::move(mailbox));
	}
	return mailboxes;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::FuzzInput input(data, size);
	uint8_t shape = input.byte();
	MappingOptions options;
	options.target_separator = (shape & 1) ? '.' : '/';
	if (shape & 2)
		options.target_prefix = std::string("INBOX") + options.target_separator;
	if (shape & 4)
		options.max_component_bytes = 16 + input.byte() % 64;
	if (shape & 8)
		options.target_forbidden_chars = ".";
	if (shape & 16)
		options.reserved_names = {"cur", "new", "tmp"};
	if (shape & 32)
		options.special_use_targets[Role::sent] = "Sent";
	std::vector<Namespace> namespaces;
	if (shape & 64)
		namespaces.push_back({std::string(input.take_until('\n')), '.'});
	std::vector<LegacyMailbox> legacy = listed_mailboxes(input);

	std::vector<MappedFolder> mapped;
	try {
		mapped = map_folders(legacy, namespaces, options);
	} catch (const Failure &) {
		return 0;
	}
	std::set<std::string> targets;
	for (const MappedFolder &folder : mapped) {
		if (!folder.skip_reason.empty())
			continue;
		if (folder.target_name.empty() || !targets.insert(folder.target_name).second)
			abort(); // two folders would be saved into one
	}
	return 0;
}
