#include "lib.h"
#include "auth-master.h"
#include "capture-check.h"

/* A userdb lookup while the service waits: short, and only when a login
   brings a new password. */
#define CAPTURE_LOOKUP_TIMEOUT_MSECS (5 * 1000)

static struct auth_master_connection *capture_auth_conn;
static long capture_default_mail_uid = -1;

void mailmove_capture_check_init(const char *auth_socket_path, long default_mail_uid)
{
	capture_auth_conn = auth_master_init(auth_socket_path, 0);
	auth_master_set_timeout(capture_auth_conn, CAPTURE_LOOKUP_TIMEOUT_MSECS);
	capture_default_mail_uid = default_mail_uid;
}

void mailmove_capture_check_deinit(void)
{
	if (capture_auth_conn != NULL)
		auth_master_deinit(&capture_auth_conn);
}

static int capture_user_uid(const char *user, long *uid_r, const char **error_r)
{
	struct auth_user_info info;
	struct auth_user_reply reply;
	const char *username, *const *fields;
	pool_t pool;
	int ret;

	i_zero(&info);
	info.service = "mailmove";
	pool = pool_alloconly_create("mailmove capture lookup", 1024);
	ret = auth_master_user_lookup(capture_auth_conn, user, &info, pool,
				      &username, &fields);
	if (ret <= 0) {
		*error_r = ret == 0 ? "the userdb does not know the user" :
			t_strdup_printf("userdb lookup failed: %s",
					fields != NULL && fields[0] != NULL ?
					fields[0] : "internal error");
		pool_unref(&pool);
		return -1;
	}
	auth_user_fields_parse(fields, pool, &reply);
	*uid_r = reply.uid == (uid_t)-1 ? capture_default_mail_uid : (long)reply.uid;
	pool_unref(&pool);
	if (*uid_r < 0) {
		*error_r = "the userdb gives the user no uid and mail_uid is not set";
		return -1;
	}
	return 0;
}

bool mailmove_capture_check(const char *user, long peer_uid, const char **why_not_r)
{
	const char *error;
	long uid;

	if (peer_uid == 0)
		return TRUE;
	if (peer_uid < 0) {
		*why_not_r = "the sender's uid is unknown";
		return FALSE;
	}
	if (capture_user_uid(user, &uid, &error) < 0) {
		*why_not_r = t_strdup_printf("cannot check the sender: %s", error);
		return FALSE;
	}
	if (uid != peer_uid) {
		*why_not_r = t_strdup_printf(
			"sent by uid %ld, but the user's mail processes run as uid %ld",
			peer_uid, uid);
		return FALSE;
	}
	return TRUE;
}
