// The legacy account's folders: LIST/XLIST/LSUB and NAMESPACE.
#include "imap/client.h"

#include "imap/client-impl.h"
#include "imap/mailbox-list.h"

namespace mailmove::imap {

namespace {

ListCommand choose_list_command(const Connection &connection)
{
	bool special_use = connection.has_capability("SPECIAL-USE");
	bool list_extended = connection.has_capability("LIST-EXTENDED");
	if (list_extended && special_use)
		return ListCommand::list_extended;
	// XLIST is how Gmail and others told roles before RFC 6154.
	if (connection.has_capability("XLIST") && !special_use)
		return ListCommand::xlist;
	return list_extended ? ListCommand::list_extended : ListCommand::list;
}

// Runs a command the move can do without: a refusal is logged with what
// it costs, unless it says the server is busy (worth a retry). True when
// the command succeeded.
bool run_dispensable(Connection &connection, const CommandText &command, std::string_view name,
		     std::string_view consequence)
{
	Response tagged = connection.run(command);
	if (tagged.is_ok())
		return true;
	if (classify_refusal(tagged, FailureKind::permanent) == FailureKind::temporary)
		throw_refusal(tagged, FailureKind::temporary, connection.peer(), name);
	connection.log().warning(connection.peer() + ": " + std::string(name) + " refused, " +
				 std::string(consequence) + ": " + printable_excerpt(tagged.text));
	return false;
}

// Keeps the last untagged response with one keyword.
class UntaggedCapture final : public ResponseObserver {
public:
	explicit UntaggedCapture(std::string keyword) : keyword_(std::move(keyword)) {}

	void on_untagged(const Response &response) override
	{
		if (response.keyword == keyword_)
			captured = response;
	}

	std::optional<Response> captured;

private:
	std::string keyword_;
};

} // namespace

std::vector<ListedMailbox> Client::list_mailboxes()
{
	Connection &connection = impl_->connection;
	ListCommand kind = choose_list_command(connection);
	MailboxListCollector collector(kind);
	ObserverScope observing(connection, collector);

	if (kind == ListCommand::list_extended) {
		std::string options = connection.has_capability("SPECIAL-USE")
					      ? "RETURN (SUBSCRIBED SPECIAL-USE)"
					      : "RETURN (SUBSCRIBED)";
		Response tagged = connection.run(
			CommandBuilder("LIST", {}).raw("\"\" \"*\"").raw(options).finish());
		// Some servers announce LIST-EXTENDED but reject RETURN
		// options: the plain commands still tell everything but roles.
		if (tagged.keyword == "BAD" &&
		    classify_refusal(tagged, FailureKind::permanent) == FailureKind::permanent) {
			connection.log().warning(connection.peer() +
						 ": LIST RETURN refused, listing with LIST and LSUB: " +
						 printable_excerpt(tagged.text));
			kind = ListCommand::list;
		} else if (!tagged.is_ok()) {
			throw_refusal(tagged, FailureKind::temporary, connection.peer(), "LIST");
		}
	}
	if (kind != ListCommand::list_extended) {
		const char *verb = kind == ListCommand::xlist ? "XLIST" : "LIST";
		impl_->run_ok(CommandBuilder(verb, {}).raw("\"\" \"*\"").finish(),
			      FailureKind::temporary, verb);
		run_dispensable(connection, CommandBuilder("LSUB", {}).raw("\"\" \"*\"").finish(),
				"LSUB", "subscriptions are not carried over");
	}
	impl_->unreadable_list_entries.clear();
	if (!collector.over_limit().empty()) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": the legacy server lists " +
				      collector.over_limit() +
				      ", more than a move takes (see the README's limits)");
	}
	for (const std::string &trace : collector.malformed()) {
		connection.log().warning(connection.peer() + ": ignoring a malformed list entry: " +
					 printable_excerpt(trace));
		impl_->unreadable_list_entries.push_back(printable_excerpt(trace));
	}
	size_t unlogged = collector.malformed_count() - collector.malformed().size();
	if (unlogged > 0) {
		connection.log().warning(connection.peer() + ": ignoring " +
					 std::to_string(unlogged) + " more malformed list entries");
	}
	return collector.take();
}

bool Client::usable() const
{
	return impl_->connection.usable();
}

const std::vector<std::string> &Client::unreadable_list_entries() const
{
	return impl_->unreadable_list_entries;
}

std::optional<std::vector<Namespace>> Client::personal_namespaces()
{
	Connection &connection = impl_->connection;
	if (!connection.has_capability("NAMESPACE"))
		return std::nullopt;

	UntaggedCapture capture("NAMESPACE");
	ObserverScope observing(connection, capture);
	// Without it the folder names still show any prefix.
	if (!run_dispensable(connection, CommandBuilder("NAMESPACE", {}).finish(), "NAMESPACE",
			     "the personal namespace is unknown"))
		return std::nullopt;
	std::optional<std::vector<Namespace>> personal;
	if (capture.captured)
		personal = parse_personal_namespaces(*capture.captured);
	if (!personal) {
		connection.log().warning(
			connection.peer() + ": NAMESPACE gave no usable answer: " +
			printable_excerpt(capture.captured ? capture.captured->trace : ""));
	}
	return personal;
}

} // namespace mailmove::imap
