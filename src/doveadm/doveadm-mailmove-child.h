#ifndef DOVEADM_MAILMOVE_CHILD_H
#define DOVEADM_MAILMOVE_CHILD_H

/* `doveadm mailmove run|test` talk to legacy servers nobody here controls.
   With -A, a user mask or through doveadm-server, doveadm drops to the
   user's uid only temporarily (MAIL_STORAGE_SERVICE_FLAG_TEMP_PRIV_DROP):
   its real and saved uid stay root, so code that a hostile server's bytes
   could subvert could get root back. So each user's legacy I/O happens in
   a child process that first drops to the user's uid and gid for good
   (setgroups, setresgid, setresuid, no_new_privs); the parent, still able
   to regain root for the next user, only reads the lines the child sends
   over a pipe and prints or forwards them. */

#include <stdbool.h>

struct mail_user;

/* Runs in the child, after the drop, with the write end of the pipe. */
typedef void mailmove_child_work_t(struct mail_user *user, int out_fd,
				   void *context);
/* Runs in the parent for each line the child sent, split into its
   tab-escaped fields (the first is the line's kind). */
typedef void mailmove_child_line_t(const char *const *fields, void *context);

/* Forks; the child drops to user's uid/gid for good and calls work(),
   then exits. The parent calls on_line() for each line until the child
   ends. Returns 0 when the child exited with status 0, -1 with error_r
   (data stack) when it could not be started, could not drop its
   privileges, or died. */
int doveadm_mailmove_child_run(struct mail_user *user,
			       mailmove_child_work_t *work,
			       mailmove_child_line_t *on_line, void *context,
			       const char **error_r);

/* In the child: sends one line of tab-escaped fields (NULL-terminated).
   A parent that went away ends the child. */
void doveadm_mailmove_child_send(int out_fd, const char *const *fields);

#endif
