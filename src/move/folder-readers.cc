#include "move/folder-readers.h"

#include "base/failure.h"

#include <chrono>
#include <csignal>
#include <pthread.h>

namespace mailmove::move {

namespace {

class FunctionLogger final : public Logger {
public:
	explicit FunctionLogger(std::function<void(LogLevel, std::string_view)> sink)
		: sink_(std::move(sink))
	{
	}
	void log(LogLevel level, std::string_view message) override { sink_(level, message); }

private:
	std::function<void(LogLevel, std::string_view)> sink_;
};

// Hands FetchHandler's calls to the move's thread as events.
class ForwardingHandler final : public imap::FetchHandler {
public:
	ForwardingHandler(size_t reader, size_t buffered_body_bytes,
			  std::function<void(ReaderEvent)> push, std::function<void()> wait_release)
		: reader_(reader), buffered_body_bytes_(buffered_body_bytes), push_(std::move(push)),
		  wait_release_(std::move(wait_release))
	{
	}

	void on_batch_sent(uint64_t batch, const std::vector<uint32_t> &uids) override
	{
		ReaderEvent event = make(ReaderEvent::Kind::batch_sent, batch);
		event.uids = uids;
		push_(std::move(event));
	}

	void on_body(uint64_t batch, uint32_t uid, ByteSource &body) override
	{
		ReaderEvent event = make(ReaderEvent::Kind::body, batch);
		event.uid = uid;
		if (body.size() > buffered_body_bytes_) {
			/* Not copied: the move's thread reads it from our
			   connection while this thread waits. */
			event.body_stream = &body;
			push_(std::move(event));
			wait_release_();
			return;
		}
		event.text.reserve(body.size());
		char buf[16384];
		while (size_t n = body.read(buf, sizeof(buf)))
			event.text.append(buf, n);
		push_(std::move(event));
	}

	void on_body_refused(uint64_t batch, uint32_t uid, const std::string &reason) override
	{
		ReaderEvent event = make(ReaderEvent::Kind::body_refused, batch);
		event.uid = uid;
		event.text = reason;
		push_(std::move(event));
	}

	void on_batch_done(uint64_t batch, const std::vector<uint32_t> &uids,
			   const std::vector<uint32_t> &missing) override
	{
		ReaderEvent event = make(ReaderEvent::Kind::batch_done, batch);
		event.uids = uids;
		event.missing = missing;
		push_(std::move(event));
	}

private:
	ReaderEvent make(ReaderEvent::Kind kind, uint64_t batch) const
	{
		ReaderEvent event;
		event.kind = kind;
		event.reader = reader_;
		event.batch = batch;
		return event;
	}

	size_t reader_;
	size_t buffered_body_bytes_;
	std::function<void(ReaderEvent)> push_;
	std::function<void()> wait_release_;
};

// Signals are for the move's thread (Dovecot's handlers run there).
void block_signals()
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

} // namespace

void HandOverLogger::log(LogLevel level, std::string_view message)
{
	if (handed_.load())
		queued_(level, message);
	else
		direct_.log(level, message);
}

void HandOverLogger::hand_over(std::function<void(LogLevel, std::string_view)> queued)
{
	queued_ = std::move(queued);
	handed_.store(true);
}

FolderReaders::FolderReaders(std::unique_ptr<imap::Client> first, HandOverLogger &first_log,
			     std::atomic<bool> &stop, unsigned count, SessionOpener open)
	: FolderReaders(std::move(first), first_log, stop, count, std::move(open), Options())
{
}

FolderReaders::FolderReaders(std::unique_ptr<imap::Client> first, HandOverLogger &first_log,
			     std::atomic<bool> &stop, unsigned count, SessionOpener open,
			     Options options)
	: options_(options), stop_(stop)
{
	first_log.hand_over(
		[this](LogLevel level, std::string_view message) { queue_log(level, message); });
	for (unsigned i = 0; i < std::max(count, 1u); i++)
		readers_.push_back(std::make_unique<Reader>());
	readers_[0]->client = std::move(first);
	readers_[0]->ready = true;
	for (size_t i = 0; i < readers_.size(); i++)
		readers_[i]->thread = std::thread([this, i, open] { reader_main(i, open); });
}

FolderReaders::~FolderReaders()
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		if (!finishing_)
			stop_.store(true);
	}
	wake_all();
	for (auto &reader : readers_) {
		if (reader->thread.joinable())
			reader->thread.join();
	}
}

std::optional<size_t> FolderReaders::idle_reader() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	for (size_t i = 0; i < readers_.size(); i++) {
		const Reader &reader = *readers_[i];
		if (reader.ready && !reader.busy && !reader.gone)
			return i;
	}
	return std::nullopt;
}

bool FolderReaders::busy(size_t reader) const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return readers_.at(reader)->busy;
}

size_t FolderReaders::usable() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	size_t usable = 0;
	for (const auto &reader : readers_)
		usable += reader->gone ? 0 : 1;
	return usable;
}

void FolderReaders::assign(size_t reader, ReaderAssignment assignment)
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		readers_.at(reader)->assignment = std::move(assignment);
		readers_.at(reader)->busy = true;
	}
	readers_.at(reader)->wake.notify_one();
}

std::optional<ReaderEvent> FolderReaders::next(int timeout_ms, Logger &log)
{
	std::optional<ReaderEvent> event;
	std::vector<std::pair<LogLevel, std::string>> lines;
	{
		std::unique_lock<std::mutex> lock(mutex_);
		to_mover_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
				   [this] { return !events_.empty(); });
		lines.swap(log_lines_);
		if (!events_.empty()) {
			event = std::move(events_.front());
			events_.pop_front();
			if (!event->text.empty()) {
				queued_bytes_ -= event->text.size();
				for (auto &waiting : readers_) {
					if (waiting->waiting_for_space)
						waiting->wake.notify_one();
				}
			}
			Reader &reader = *readers_[event->reader];
			switch (event->kind) {
			case ReaderEvent::Kind::finished:
				reader.busy = false;
				break;
			case ReaderEvent::Kind::failed:
			case ReaderEvent::Kind::unavailable:
				reader.gone = true;
				reader.busy = false;
				break;
			default:
				break;
			}
		}
	}
	for (const auto &[level, line] : lines)
		log.log(level, line);
	return event;
}

void FolderReaders::release(size_t reader)
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		readers_.at(reader)->released = true;
	}
	readers_.at(reader)->wake.notify_one();
}

void FolderReaders::finish()
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		finishing_ = true;
	}
	wake_all();
}

void FolderReaders::wake_all()
{
	std::lock_guard<std::mutex> lock(mutex_);
	for (auto &reader : readers_)
		reader->wake.notify_all();
}

void FolderReaders::push(ReaderEvent event)
{
	{
		std::unique_lock<std::mutex> lock(mutex_);
		size_t size = event.text.size();
		Reader &reader = *readers_[event.reader];
		reader.waiting_for_space = true;
		reader.wake.wait(lock, [&] {
			return stop_.load() || queued_bytes_ == 0 ||
			       queued_bytes_ + size <= options_.queue_bytes;
		});
		reader.waiting_for_space = false;
		if (stop_.load())
			throw Cancelled();
		queued_bytes_ += size;
		events_.push_back(std::move(event));
	}
	to_mover_.notify_one();
}

void FolderReaders::queue_log(LogLevel level, std::string_view message)
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		log_lines_.emplace_back(level, std::string(message));
	}
}

void FolderReaders::wait_release(size_t index)
{
	std::unique_lock<std::mutex> lock(mutex_);
	Reader &reader = *readers_[index];
	reader.wake.wait(lock, [&] { return stop_.load() || reader.released; });
	if (stop_.load())
		throw Cancelled();
	reader.released = false;
}

void FolderReaders::reader_main(size_t index, SessionOpener open)
{
	block_signals();
	FunctionLogger log(
		[this](LogLevel level, std::string_view message) { queue_log(level, message); });
	CancelCheck cancel = [this] { return stop_.load(); };
	std::unique_ptr<imap::Client> client;
	{
		std::lock_guard<std::mutex> lock(mutex_);
		client = std::move(readers_[index]->client);
	}
	try {
		if (client == nullptr) {
			try {
				client = open(log, cancel);
			} catch (const Cancelled &) {
				throw;
			} catch (const std::exception &e) {
				ReaderEvent event;
				event.kind = ReaderEvent::Kind::unavailable;
				event.reader = index;
				event.text = e.what();
				event.error = std::current_exception();
				push(std::move(event));
				return;
			}
			ReaderEvent ready;
			ready.kind = ReaderEvent::Kind::ready;
			ready.reader = index;
			{
				std::lock_guard<std::mutex> lock(mutex_);
				readers_[index]->ready = true;
			}
			push(std::move(ready));
		}
		run_assignments(index, *client);
	} catch (const Cancelled &) {
		/* stopped: the session is dropped without a word */
	} catch (...) {
		ReaderEvent event;
		event.kind = ReaderEvent::Kind::failed;
		event.reader = index;
		event.error = std::current_exception();
		try {
			push(std::move(event));
		} catch (const Cancelled &) {
		}
	}
}

void FolderReaders::run_assignments(size_t index, imap::Client &client)
{
	ForwardingHandler handler(
		index, options_.buffered_body_bytes, [this](ReaderEvent event) { push(std::move(event)); },
		[this, index] { wait_release(index); });
	for (;;) {
		ReaderAssignment assignment;
		{
			std::unique_lock<std::mutex> lock(mutex_);
			Reader &reader = *readers_[index];
			reader.wake.wait(lock, [&] {
				return stop_.load() || finishing_ || reader.assignment.has_value();
			});
			if (stop_.load())
				return;
			if (!reader.assignment) {
				lock.unlock();
				client.logout();
				return;
			}
			assignment = std::move(*reader.assignment);
			reader.assignment.reset();
		}
		(void)client.examine(assignment.legacy_name);
		client.fetch_bodies(assignment.requests, handler);
		ReaderEvent done;
		done.kind = ReaderEvent::Kind::finished;
		done.reader = index;
		push(std::move(done));
	}
}

} // namespace mailmove::move
