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

// What one listing may hold (README: "Limits on what a legacy server
// sends"): a server listing more is refused as a whole rather than moved
// in part. Mailboxes and subscriptions count each name once.
struct ListLimits {
	size_t max_mailboxes = 10000;
	size_t max_subscriptions = 10000;
	// Names and attributes of all entries together.
	size_t max_bytes = 16 * 1024 * 1024;
	// Malformed entries kept for the log; the others are only counted.
	size_t max_malformed_kept = 100;
};

// Collects the listed mailboxes and the subscriptions while LIST, XLIST
// and LSUB run, in any order.
class MailboxListCollector final : public ResponseObserver {
public:
	explicit MailboxListCollector(ListCommand command, ListLimits limits = {})
		: command_(command), limits_(limits)
	{
	}

	void on_untagged(const Response &response) override;

	// The listed mailboxes in the server's order, each name once (a
	// name listed twice gets the attributes of both), subscribed when
	// LIST said \Subscribed or LSUB named them.
	std::vector<ListedMailbox> take();
	// LIST answers that could not be read (logged by the caller): the
	// first max_malformed_kept of them, and how many there were.
	const std::vector<std::string> &malformed() const { return malformed_; }
	size_t malformed_count() const { return malformed_count_; }
	// Why the listing is over a limit ("" when it is not); the entries
	// past it were not collected.
	const std::string &over_limit() const { return over_limit_; }

private:
	void add_listed(ListedMailbox mailbox);
	bool within_limits(const ListedMailbox &mailbox, bool is_lsub);

	ListCommand command_;
	ListLimits limits_;
	size_t bytes_ = 0;
	size_t malformed_count_ = 0;
	std::string over_limit_;
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
