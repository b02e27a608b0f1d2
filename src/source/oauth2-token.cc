#include "source/oauth2-token.h"

#include "base/failure.h"
#include "base/text.h"
#include "base/unique-fd.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mailmove::source {

namespace {

// Tokens are a few kB at most; more is not a token.
constexpr size_t max_output = 64 * 1024;

std::string trimmed(const std::string &text)
{
	size_t begin = text.find_first_not_of(" \t\r\n");
	if (begin == std::string::npos)
		return "";
	size_t end = text.find_last_not_of(" \t\r\n");
	return text.substr(begin, end - begin + 1);
}

// Reads both pipes until they close, the limit is reached or the
// deadline passes (false).
bool read_until_closed(int out_fd, int err_fd, SecretString &out, std::string &err,
		       std::chrono::steady_clock::time_point deadline)
{
	struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	std::string *targets[2] = {&out, &err};
	int open_count = 2;
	char buf[4096];
	while (open_count > 0) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			break;
		int ret = ::poll(fds, 2, int(left.count()));
		if (ret < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2 && ret > 0; i++) {
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
			if (n > 0 && targets[i]->size() < max_output) {
				targets[i]->append(buf, size_t(n));
			} else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				fds[i].fd = -1;
				open_count--;
			}
		}
	}
	explicit_bzero(buf, sizeof(buf)); /* held a piece of the token */
	return open_count == 0;
}

} // namespace

SecretString read_token_file(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source_oauth2_token_file " + path + ": " + std::strerror(errno));
	}
	SecretString data;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(fd.get(), buf, sizeof(buf))) > 0 && data.size() < max_output)
		data.append(buf, size_t(n));
	explicit_bzero(buf, sizeof(buf));
	SecretString token = trimmed(data);
	if (token.empty()) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source_oauth2_token_file " + path + " holds no token");
	}
	return token;
}

SecretString run_token_command(const std::string &command,
			       const std::vector<std::pair<std::string, std::string>> &env,
			       int timeout_ms)
{
	int out_pipe[2], err_pipe[2];
	if (::pipe2(out_pipe, O_CLOEXEC) < 0)
		throw Failure(FailureKind::temporary, std::string("pipe() failed: ") + strerror(errno));
	UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
	if (::pipe2(err_pipe, O_CLOEXEC) < 0)
		throw Failure(FailureKind::temporary, std::string("pipe() failed: ") + strerror(errno));
	UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

	pid_t pid = ::fork();
	if (pid < 0)
		throw Failure(FailureKind::temporary, std::string("fork() failed: ") + strerror(errno));
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec; a
		   group of its own, so a timeout kills what it started too */
		::setpgid(0, 0);
		::dup2(out_write.get(), STDOUT_FILENO);
		::dup2(err_write.get(), STDERR_FILENO);
		int null_fd = ::open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			::dup2(null_fd, STDIN_FILENO);
		for (const auto &[name, value] : env)
			::setenv(name.c_str(), value.c_str(), 1);
		::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char *>(nullptr));
		::_exit(127);
	}
	::setpgid(pid, pid); /* as the child does: whichever runs first */
	out_write.reset();
	err_write.reset();

	SecretString out;
	std::string err;
	bool finished = read_until_closed(out_read.get(), err_read.get(), out, err,
					  std::chrono::steady_clock::now() +
						  std::chrono::milliseconds(timeout_ms));
	if (!finished)
		::kill(-pid, SIGKILL);
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}

	std::string why;
	if (!finished)
		why = "did not finish within " + (timeout_ms % 1000 == 0 ?
							  std::to_string(timeout_ms / 1000) + " s" :
							  std::to_string(timeout_ms) + " ms");
	else if (WIFSIGNALED(status))
		why = "was killed by signal " + std::to_string(WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		why = "exited with status " + std::to_string(WEXITSTATUS(status));
	SecretString token = trimmed(out);
	if (why.empty() && token.empty())
		why = "printed no token";
	if (!why.empty()) {
		std::string first_line = err.substr(0, err.find('\n'));
		throw Failure(FailureKind::temporary,
			      "mailmove_source_oauth2_token_command " + why +
				      (first_line.empty() ? "" : ": " + printable_excerpt(first_line, 200)));
	}
	return token;
}

void refuse_password_login(const std::string &oauth2_only_provider, bool has_token)
{
	if (oauth2_only_provider.empty() || has_token)
		return;
	throw Failure(FailureKind::permanent,
		      oauth2_only_provider +
			      " accepts only OAuth2 logins: set mailmove_source_oauth2_token_command "
			      "or mailmove_source_oauth2_token_file; no password was sent");
}

} // namespace mailmove::source
