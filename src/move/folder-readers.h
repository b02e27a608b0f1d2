// Legacy connections that fetch several folders at once, each in a thread
// of its own, while the move's thread saves what they deliver.
//
// Why threads and one saver: Dovecot's mail-storage API belongs to one
// thread of one process, and the engine's IMAP client blocks. So each
// reader thread owns one imap::Client and nothing else (no Dovecot, no
// Store, no checkpoint); it turns the FetchHandler calls of its UID FETCH
// pipeline into events on one bounded queue, and the move's thread takes
// them one at a time and hands them to that folder's FolderFetchHandler,
// which saves, commits and checkpoints exactly as a single connection's
// move does (folder-writer.h). Parsing, TLS and waiting for the servers
// happen in the readers, the storage work in the move's thread.
//
// Memory stays bounded: a body up to buffered_body_bytes is read into the
// event (at most queue_bytes of them wait at once, a reader blocks while
// the queue is full); a larger one is not copied: its reader waits while
// the move's thread reads the body straight from that reader's connection
// (release()).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/byte-source.h"
#include "base/cancel.h"
#include "base/logger.h"
#include "imap/client.h"

namespace mailmove::move {

// What a reader tells the move's thread, in the order it happened.
struct ReaderEvent {
	enum class Kind {
		batch_sent,   // FetchHandler::on_batch_sent
		body,         // on_body: body_text, or body_stream to read now
		body_refused, // on_body_refused: text is why
		batch_done,   // on_batch_done
		finished,     // the assignment's fetch_bodies() returned
		failed,       // the reader's session broke: error
		unavailable,  // an extra session could not be opened: text, error
		ready,        // an extra session is logged in
	};
	Kind kind = Kind::finished;
	size_t reader = 0;
	uint64_t batch = 0;
	uint32_t uid = 0;
	std::vector<uint32_t> uids;
	std::vector<uint32_t> missing;
	std::string text;
	// A body larger than buffered_body_bytes, read from the reader's
	// connection; release() lets the reader go on.
	ByteSource *body_stream = nullptr;
	std::exception_ptr error;
};

// One folder's messages for a reader: EXAMINE, then UID FETCH them.
struct ReaderAssignment {
	std::string legacy_name;
	std::vector<imap::BodyRequest> requests;
};

// A Logger that can be handed from the move's thread to a reader: until
// hand_over(), lines go to the move's log; after it, they wait in the
// readers' queue until the move's thread passes them on.
class HandOverLogger final : public Logger {
public:
	explicit HandOverLogger(Logger &direct) : direct_(direct) {}
	void log(LogLevel level, std::string_view message) override;
	void hand_over(std::function<void(LogLevel, std::string_view)> queued);
	// The session belongs to a reader now: its cancel check must not
	// call into the move's thread's world any more.
	bool handed() const { return handed_.load(); }

private:
	Logger &direct_;
	std::function<void(LogLevel, std::string_view)> queued_;
	std::atomic<bool> handed_{false};
};

class FolderReaders {
public:
	struct Options {
		size_t buffered_body_bytes = 512 * 1024;
		size_t queue_bytes = 4 * 1024 * 1024;
	};
	// Opens a session in a reader thread (log and cancel are the
	// reader's own); throws mailmove::Failure.
	using SessionOpener = std::function<std::unique_ptr<imap::Client>(Logger &log,
									    const CancelCheck &cancel)>;

	// Reader 0 takes first, the move's own session, whose logger is
	// first_log (handed over here) and whose cancel check must ask stop
	// once first_log.handed(); readers 1..count-1 open sessions of their
	// own with open, at once. stop is set when the readers are to stop
	// (their sessions' cancel checks ask it).
	FolderReaders(std::unique_ptr<imap::Client> first, HandOverLogger &first_log,
		      std::atomic<bool> &stop, unsigned count, SessionOpener open,
		      Options options);
	FolderReaders(std::unique_ptr<imap::Client> first, HandOverLogger &first_log,
		      std::atomic<bool> &stop, unsigned count, SessionOpener open);
	// Stops the readers (without LOGOUT unless finish() came first) and
	// waits for their threads.
	~FolderReaders();
	FolderReaders(const FolderReaders &) = delete;
	FolderReaders &operator=(const FolderReaders &) = delete;

	size_t count() const { return readers_.size(); }
	// A reader that is logged in and has nothing to do.
	std::optional<size_t> idle_reader() const;
	bool busy(size_t reader) const;
	// Readers whose session has not failed (opened or still opening).
	size_t usable() const;
	void assign(size_t reader, ReaderAssignment assignment);
	// The next event, after passing the readers' log lines to log;
	// nullopt when none came within timeout_ms.
	std::optional<ReaderEvent> next(int timeout_ms, Logger &log);
	// The move's thread is done with the body_stream of reader's last
	// event.
	void release(size_t reader);
	// Every assignment is done: the readers log out and end.
	void finish();
	bool stop_requested() const { return stop_.load(); }

private:
	struct Reader {
		std::unique_ptr<imap::Client> client;
		std::optional<ReaderAssignment> assignment;
		bool ready = false;  // logged in
		bool busy = false;   // assigned, its finished event not taken yet
		bool gone = false;   // its session failed or never opened
		bool released = false;
		bool waiting_for_space = false;
		// Wakes this reader only: an assignment, a release, room in
		// the queue, the end.
		std::condition_variable wake;
		std::thread thread;
	};

	void reader_main(size_t index, SessionOpener open);
	void run_assignments(size_t index, imap::Client &client);
	// Blocks while the queue is full (bodies count their bytes).
	void push(ReaderEvent event);
	void queue_log(LogLevel level, std::string_view message);
	void wait_release(size_t index);
	void wake_all();

	Options options_;
	mutable std::mutex mutex_;
	// Wakes the move's thread: an event (log lines wait for one).
	std::condition_variable to_mover_;
	std::deque<ReaderEvent> events_;
	size_t queued_bytes_ = 0;
	std::vector<std::pair<LogLevel, std::string>> log_lines_;
	std::vector<std::unique_ptr<Reader>> readers_;
	std::atomic<bool> &stop_;
	bool finishing_ = false;
};

} // namespace mailmove::move
