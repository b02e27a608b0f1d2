/* A note in the user's INBOX when their move finishes or needs them
   (user-notice.h). Dovecot 2.3 storage API; nothing of it is logged but
   the outcome. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "base64.h"
#include "hostpid.h"
#include "ioloop.h"
#include "istream.h"
#include "message-date.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "mailbox-list.h"
#include "user-notice.h"
#include "settings/mailmove-setting.h"

#include <fcntl.h>
#include <unistd.h>

/* Markers in the user's mail index root: the note of that kind was
   saved (and is not saved again while the marker exists). */
#define MAILMOVE_NOTICE_DONE_MARKER "mailmove-notice-done"
#define MAILMOVE_NOTICE_AUTH_MARKER "mailmove-notice-auth"

static const char *notice_field(const char *fields, const char *key)
{
	const char *const *args = t_strsplit_tabescaped(fields == NULL ? "" : fields);
	size_t len = strlen(key);

	for (; *args != NULL; args++) {
		if (strncmp(*args, key, len) == 0 && (*args)[len] == '=')
			return *args + len + 1;
	}
	return "0";
}

static const char *notice_encoded_word(const char *text)
{
	string_t *str = t_str_new(128);

	str_append(str, "=?UTF-8?B?");
	base64_encode(text, strlen(text), str);
	str_append(str, "?=");
	return str_c(str);
}

static const char *
notice_message(struct mail_user *user, enum mailmove_user_notice_kind kind,
	       const char *progress_fields)
{
	const char *domain = strchr(user->username, '@');
	const char *subject, *body;
	string_t *msg = t_str_new(1024);

	if (kind == MAILMOVE_USER_NOTICE_DONE) {
		const char *messages = notice_field(progress_fields, "messages_done");
		const char *folders = notice_field(progress_fields, "folders_done");

		subject = "Your old mail has been moved / 您的旧邮件已搬迁完成";
		body = t_strdup_printf(
			"Your mail from your old mailbox is here: %s messages in %s folders.\n"
			"New mail that still reaches the old mailbox is brought over for a while.\n"
			"\n"
			"您旧邮箱中的邮件已全部搬迁到这里：共 %s 封邮件，%s 个文件夹。\n"
			"在一段时间内，仍发往旧邮箱的新邮件也会被同步过来。\n",
			messages, folders, messages, folders);
	} else {
		subject = "Action needed: your old mailbox password / 需要您操作：旧邮箱密码";
		body = "Your old mailbox refused the password we have, so your old mail\n"
			"cannot be moved. Please enter your old mailbox password again under\n"
			"Settings > Mail moving in webmail (or ask your administrator).\n"
			"\n"
			"您的旧邮箱拒绝了我们保存的密码，旧邮件暂时无法搬迁。\n"
			"请在网页邮箱的「设置 > 邮件搬家」中重新输入旧邮箱的密码（或联系管理员）。\n";
	}
	str_printfa(msg, "From: Mail moving <postmaster%s>\r\n",
		    domain != NULL ? domain : "@localhost");
	str_printfa(msg, "To: <%s>\r\n", user->username);
	str_printfa(msg, "Subject: %s\r\n", notice_encoded_word(subject));
	str_printfa(msg, "Date: %s\r\n", message_date_create(ioloop_time));
	str_printfa(msg, "Message-ID: <mailmove.%s.%ld.%s@%s>\r\n",
		    kind == MAILMOVE_USER_NOTICE_DONE ? "done" : "auth",
		    (long)ioloop_time, my_pid, my_hostname);
	str_printfa(msg, "X-Mailmove-Notice: %s\r\n",
		    kind == MAILMOVE_USER_NOTICE_DONE ? "done" : "auth-failed");
	str_append(msg, "MIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: 8bit\r\n\r\n");
	for (; *body != '\0'; body++) {
		if (*body == '\n')
			str_append_c(msg, '\r');
		str_append_c(msg, *body);
	}
	return str_c(msg);
}

/* The marker's path, NULL when the storage has no directory. */
static const char *notice_marker_path(struct mail_user *user,
				      enum mailmove_user_notice_kind kind)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(user->namespaces);
	const char *path;

	if (!mailbox_list_get_root_path(ns->list, MAILBOX_LIST_PATH_TYPE_INDEX, &path) &&
	    !mailbox_list_get_root_path(ns->list, MAILBOX_LIST_PATH_TYPE_DIR, &path))
		return NULL;
	return t_strconcat(path, "/", kind == MAILMOVE_USER_NOTICE_DONE ?
			   MAILMOVE_NOTICE_DONE_MARKER : MAILMOVE_NOTICE_AUTH_MARKER,
			   NULL);
}

static int notice_save(struct mail_user *user, const char *text, const char **error_r)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(user->namespaces);
	struct mailbox *box = mailbox_alloc(ns->list, "INBOX", 0);
	struct mailbox_transaction_context *trans;
	struct mail_save_context *save_ctx;
	struct istream *input;
	int result = -1;

	if (mailbox_open(box) < 0) {
		*error_r = mailbox_get_last_internal_error(box, NULL);
		mailbox_free(&box);
		return -1;
	}
	trans = mailbox_transaction_begin(box, MAILBOX_TRANSACTION_FLAG_EXTERNAL,
					  "mailmove notice");
	save_ctx = mailbox_save_alloc(trans);
	input = i_stream_create_from_data(text, strlen(text));
	if (mailbox_save_begin(&save_ctx, input) == 0) {
		/* The data stream holds the whole message already. */
		do {
			if (mailbox_save_continue(save_ctx) < 0)
				break;
		} while (i_stream_read(input) > 0);
		if (input->eof && input->stream_errno == 0 &&
		    mailbox_save_finish(&save_ctx) == 0 &&
		    mailbox_transaction_commit(&trans) == 0)
			result = 0;
		else if (save_ctx != NULL)
			mailbox_save_cancel(&save_ctx);
	}
	if (result < 0)
		*error_r = mailbox_get_last_internal_error(box, NULL);
	if (trans != NULL)
		mailbox_transaction_rollback(&trans);
	i_stream_unref(&input);
	mailbox_free(&box);
	return result;
}

void mailmove_user_notice(struct mail_user *user, struct event *event,
			  enum mailmove_user_notice_kind kind,
			  const char *progress_fields)
{
	const char *setting = mailmove_user_setting(user, "mailmove_user_notices");
	const char *marker, *error;
	int fd;

	if (setting != NULL && (strcmp(setting, "no") == 0 || strcmp(setting, "0") == 0))
		return;
	marker = notice_marker_path(user, kind);
	if (marker == NULL || access(marker, F_OK) == 0)
		return; /* already told (or nowhere to remember it) */
	if (notice_save(user, notice_message(user, kind, progress_fields), &error) < 0) {
		e_error(event, "Could not save the %s note into INBOX: %s",
			kind == MAILMOVE_USER_NOTICE_DONE ? "move-done" : "password",
			error);
		return;
	}
	fd = open(marker, O_WRONLY | O_CREAT, 0600);
	if (fd == -1)
		e_error(event, "open(%s) failed: %m", marker);
	else
		i_close_fd(&fd);
	e_info(event, "Saved a %s note into INBOX",
	       kind == MAILMOVE_USER_NOTICE_DONE ? "move-done" : "password");
}

void mailmove_user_notice_reset(struct mail_user *user, struct event *event,
				enum mailmove_user_notice_kind kind)
{
	const char *marker = notice_marker_path(user, kind);

	if (marker != NULL && unlink(marker) < 0 && errno != ENOENT)
		e_error(event, "unlink(%s) failed: %m", marker);
}
