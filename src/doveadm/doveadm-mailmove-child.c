/* A child process per user for the legacy I/O of `doveadm mailmove run` and
   `test`; see doveadm-mailmove-child.h for why. */

#ifndef _GNU_SOURCE
#  define _GNU_SOURCE /* getresuid(), setresuid() */
#endif
#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "istream.h"
#include "write-full.h"
#include "fd-util.h"
#include "hostpid.h"
#include "mail-user.h"
#include "doveadm-mailmove-child.h"

#include <grp.h>
#include <signal.h>
#include <sysexits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child line is a few progress or folder fields; a report of folders
   never comes close. */
#define MAILMOVE_CHILD_MAX_LINE (1024 * 1024)
/* The child's exit status when it could not drop its privileges. */
#define MAILMOVE_CHILD_EXIT_NO_DROP 70

/* The supplementary groups Dovecot gave the user (mail_access_groups),
   without root's group; the user's own gid when none is left. */
static int mailmove_child_set_groups(gid_t gid, const char **error_r)
{
	int count = getgroups(0, NULL);
	gid_t *groups, *kept;
	unsigned int i, n = 0;

	if (count < 0) {
		*error_r = t_strdup_printf("getgroups() failed: %m");
		return -1;
	}
	groups = t_new(gid_t, count + 1);
	kept = t_new(gid_t, count + 1);
	count = getgroups(count, groups);
	for (i = 0; count > 0 && i < (unsigned int)count; i++) {
		if (groups[i] != 0)
			kept[n++] = groups[i];
	}
	if (n == 0)
		kept[n++] = gid;
	if (setgroups(n, kept) < 0) {
		*error_r = t_strdup_printf("setgroups() failed: %m");
		return -1;
	}
	return 0;
}

static bool mailmove_child_in_root_group(void)
{
	int count = getgroups(0, NULL);
	gid_t *groups;

	if (count <= 0)
		return count < 0;
	groups = t_new(gid_t, count);
	count = getgroups(count, groups);
	for (int i = 0; i < count; i++) {
		if (groups[i] == 0)
			return TRUE;
	}
	return count < 0;
}

static int mailmove_child_drop_privileges(struct mail_user *user,
					  const char **error_r)
{
	uid_t uid = user->uid != (uid_t)-1 ? user->uid : geteuid();
	gid_t gid = user->gid != (gid_t)-1 ? user->gid : getegid();
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (uid == 0) {
		*error_r = "the user's mail uid is root: "
			"not talking to a legacy server as root";
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) < 0) {
		*error_r = t_strdup_printf("getresuid() failed: %m");
		return -1;
	}
	if (ruid == 0 || euid == 0 || suid == 0) {
		/* Root is still in reach (a temporary drop): take it back
		   for the drop itself, then give it up for good. */
		if (euid != 0 && seteuid(0) < 0) {
			*error_r = t_strdup_printf("seteuid(0) failed: %m");
			return -1;
		}
		if (mailmove_child_set_groups(gid, error_r) < 0)
			return -1;
		if (setresgid(gid, gid, gid) < 0) {
			*error_r = t_strdup_printf("setresgid(%s) failed: %m",
						   dec2str(gid));
			return -1;
		}
		if (setresuid(uid, uid, uid) < 0) {
			*error_r = t_strdup_printf("setresuid(%s) failed: %m",
						   dec2str(uid));
			return -1;
		}
	}
	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid == 0 || egid == 0 || sgid == 0 ||
	    mailmove_child_in_root_group()) {
		*error_r = t_strdup_printf("still uid %s/%s/%s gid %s/%s/%s after "
			"dropping to uid %s", dec2str(ruid), dec2str(euid),
			dec2str(suid), dec2str(rgid), dec2str(egid),
			dec2str(sgid), dec2str(uid));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		*error_r = "could regain root after dropping privileges";
		return -1;
	}
	/* Nothing it runs can gain privileges (setuid binaries) either. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*error_r = t_strdup_printf("prctl(PR_SET_NO_NEW_PRIVS) failed: %m");
		return -1;
	}
	return 0;
}

void doveadm_mailmove_child_send(int out_fd, const char *const *fields)
{
	string_t *line = t_str_new(256);

	for (; *fields != NULL; fields++) {
		if (str_len(line) > 0)
			str_append_c(line, '\t');
		str_append_tabescaped(line, *fields);
	}
	str_append_c(line, '\n');
	if (write_full(out_fd, str_data(line), str_len(line)) < 0) {
		/* the parent is gone: nobody would hear the rest */
		_exit(EX_TEMPFAIL);
	}
}

static void ATTR_NORETURN
mailmove_child_main(struct mail_user *user, int out_fd,
		    mailmove_child_work_t *work, void *context)
{
	const char *error;

	/* Our own pid in the dotlocks we take (maildir's dovecot-uidlist.lock
	   among them): with the parent's, a lock this child left when it was
	   killed would look held by a live process, and others would wait
	   for it to go stale (two minutes). Not hostpid_init(): it would
	   free the my_hostname others point to. */
	static char child_pid[MAX_INT_STRLEN];
	i_snprintf(child_pid, sizeof(child_pid), "%lld", (long long)getpid());
	my_pid = child_pid;
	if (mailmove_child_drop_privileges(user, &error) < 0) {
		i_error("mailmove %s: cannot drop privileges for good: %s",
			user->username, error);
		_exit(MAILMOVE_CHILD_EXIT_NO_DROP);
	}
	T_BEGIN {
		work(user, out_fd, context);
	} T_END;
	/* _exit(): the parent's buffered output and its deinit are not the
	   child's to flush or run. */
	_exit(0);
}

static const char *mailmove_child_status_error(int status)
{
	if (WIFSIGNALED(status)) {
		return t_strdup_printf("the move's process was killed by signal %d",
				       WTERMSIG(status));
	}
	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == MAILMOVE_CHILD_EXIT_NO_DROP)
		return "the move's process could not drop its privileges (see the log)";
	return t_strdup_printf("the move's process exited with status %d",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int doveadm_mailmove_child_run(struct mail_user *user,
			       mailmove_child_work_t *work,
			       mailmove_child_line_t *on_line, void *context,
			       const char **error_r)
{
	struct istream *input;
	const char *line;
	int fds[2], status = 0;
	const char *read_error = NULL;
	pid_t pid;

	if (pipe(fds) < 0) {
		*error_r = t_strdup_printf("pipe() failed: %m");
		return -1;
	}
	fd_close_on_exec(fds[0], TRUE);
	fd_close_on_exec(fds[1], TRUE);
	pid = fork();
	if (pid < 0) {
		*error_r = t_strdup_printf("fork() failed: %m");
		i_close_fd(&fds[0]);
		i_close_fd(&fds[1]);
		return -1;
	}
	if (pid == 0) {
		i_close_fd(&fds[0]);
		mailmove_child_main(user, fds[1], work, context);
	}
	i_close_fd(&fds[1]);

	input = i_stream_create_fd_autoclose(&fds[0], MAILMOVE_CHILD_MAX_LINE);
	while ((line = i_stream_read_next_line(input)) != NULL) T_BEGIN {
		on_line(t_strsplit_tabescaped(line), context);
	} T_END;
	if (input->stream_errno != 0) {
		/* e.g. an over-long line: a child that floods its parent is
		   not heard further */
		read_error = t_strdup_printf("reading from the move's process failed: %s",
					     i_stream_get_error(input));
		(void)kill(pid, SIGKILL);
	}
	i_stream_destroy(&input);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = t_strdup_printf("waitpid() failed: %m");
			return -1;
		}
	}
	if (read_error != NULL) {
		*error_r = read_error;
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*error_r = mailmove_child_status_error(status);
		return -1;
	}
	return 0;
}
