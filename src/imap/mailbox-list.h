// Reading LIST, XLIST, LSUB and NAMESPACE responses: the folder tree of
// the legacy account and how its personal namespace is spelt.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "imap/client.h"
#include "imap/connection.h"
#include "imap/response.h"

namespace mailmove::imap {

// Which command lists the mailboxes, by what the server announced.
enum class ListCommand {
	list_extended, // LIST "" "*" RETURN (SUBSCRIBED [SPECIAL-USE])
	xlist,         // XLIST "" "*", then LSUB
	list,          // LIST "" "*", then LSUB
};

// Collects the listed mailboxes and the subscriptions while LIST, XLIST
// and LSUB run, in any order.
class MailboxListCollector final : public ResponseObserver {
public:
	explicit MailboxListCollector(ListCommand command) : command_(command) {}

	void on_untagged(const Response &response) override;

	// The listed mailboxes in the server's order, each name once (a
	// name listed twice gets the attributes of both), subscribed when
	// LIST said \Subscribed or LSUB named them.
	std::vector<ListedMailbox> take();
	// LIST answers that could not be read (logged by the caller).
	const std::vector<std::string> &malformed() const { return malformed_; }

private:
	void add_listed(ListedMailbox mailbox);

	ListCommand command_;
	std::vector<ListedMailbox> mailboxes_;
	std::unordered_map<std::string, size_t> index_;
	std::set<std::string> subscribed_;
	std::vector<std::string> malformed_;
};

// A LIST, XLIST or LSUB response as a ListedMailbox (attributes as sent,
// INBOX spelt "INBOX"); nullopt when it is malformed.
std::optional<ListedMailbox> parse_list_response(const Response &response);
// XLIST's own attributes as RFC 6154's; \Inbox makes the name "INBOX".
void translate_xlist_attributes(ListedMailbox &mailbox);
// The personal namespaces of a NAMESPACE response (empty for NIL);
// nullopt when it is malformed.
std::optional<std::vector<Namespace>> parse_personal_namespaces(const Response &response);

} // namespace mailmove::imap
