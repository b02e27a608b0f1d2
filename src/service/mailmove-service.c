/* The mailmove service: one process (process_limit = 1) that owns the job
   table, takes login notifications on the "mailmove" socket, answers
   doveadm on "mailmove-admin" and hands jobs to mailmove-worker processes.
   Modelled on Dovecot's replicator (one process, two listeners told apart
   by name) and indexer (a pool of worker connections). */

#include "lib.h"
#include "ioloop.h"
#include "mkdir-parents.h"
#include "restrict-access.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "settings/dovecot-compat.h"
#include "jobs/protocol.h"
#include "core-bridge.h"
#include "userdb-lookup.h"
#include "mailmove-settings.h"
#include "client-connection.h"
#include "worker-dispatch.h"
#include "mailmove-service.h"

#define MAILMOVE_NOTIFY_LISTENER MAILMOVE_NOTIFY_SOCKET
#define MAILMOVE_ADMIN_LISTENER MAILMOVE_ADMIN_SOCKET
#define MAILMOVE_STATE_SUBDIR "mailmove"
#define MAILMOVE_JOURNAL_NAME "jobs.journal"
#define MAILMOVE_VAULT_NAME "credentials.vault"
#define MAILMOVE_VAULT_KEY_NAME "vault.key"

static struct event_category event_category_mailmove = {
	.name = "mailmove",
};

static struct mailmove_service service;

static void client_connected(struct master_service_connection *conn)
{
	enum client_connection_kind kind;

	if (strcmp(conn->name, MAILMOVE_ADMIN_LISTENER) == 0)
		kind = CLIENT_CONNECTION_ADMIN;
	else if (strcmp(conn->name, MAILMOVE_NOTIFY_LISTENER) == 0)
		kind = CLIENT_CONNECTION_NOTIFY;
	else {
		/* Not accepted: the master service closes it. */
		e_error(service.event, "Connection on unknown listener '%s' "
			"(expected %s or %s)", conn->name,
			MAILMOVE_NOTIFY_LISTENER, MAILMOVE_ADMIN_LISTENER);
		return;
	}
	client_connection_accept(&service, kind, conn);
}

static void userdb_answered(void *context)
{
	struct mailmove_service *svc = context;

	/* A verified login may have queued a move. */
	if (svc->dispatch != NULL)
		worker_dispatch_schedule(svc->dispatch);
}

static void main_init(const struct mailmove_service_settings *set)
{
	const struct master_service_settings *master_set =
		mailmove_master_service_settings(master_service);
	struct mailmove_core_paths paths;
	const char *state_dir, *worker_socket, *error;

	service.event = event_create(NULL);
	event_add_category(service.event, &event_category_mailmove);

	/* Only root may read the table and the vault: they name every user
	   being moved and hold their legacy credentials. */
	state_dir = t_strconcat(master_set->state_dir, "/",
				MAILMOVE_STATE_SUBDIR, NULL);
	if (mkdir_parents(state_dir, 0700) < 0 && errno != EEXIST)
		i_fatal("mkdir_parents(%s) failed: %m", state_dir);
	i_zero(&paths);
	paths.journal = t_strconcat(state_dir, "/", MAILMOVE_JOURNAL_NAME, NULL);
	paths.vault = t_strconcat(state_dir, "/", MAILMOVE_VAULT_NAME, NULL);
	paths.base_dir = master_set->base_dir;
	paths.vault_key = set->vault_key_file != NULL ? set->vault_key_file :
		t_strconcat(state_dir, "/", MAILMOVE_VAULT_KEY_NAME, NULL);
	service.userdb = userdb_lookup_init(t_strconcat(master_set->base_dir, "/",
							MAILMOVE_AUTH_USERDB_SOCKET, NULL),
					    set->default_mail_uid, service.event);
	if (mailmove_core_init(&paths, set, userdb_lookup_start, service.userdb,
			       service.event, &service.core, &error) < 0)
		i_fatal("Could not open the job table or the credential vault: %s", error);
	userdb_lookup_set_core(service.userdb, service.core,
			       userdb_answered, &service);

	worker_socket = t_strconcat(master_set->base_dir, "/",
				    MAILMOVE_WORKER_SOCKET, NULL);
	service.dispatch = worker_dispatch_init(&service, worker_socket);
	e_info(service.event, "dovecot-mailmove %s started (Dovecot ABI %s)",
	       MAILMOVE_VERSION, DOVECOT_ABI_VERSION);
	e_debug(service.event, "Job table %s: %u jobs queued; "
		"mailmove_max_workers=%u mailmove_max_per_host=%u",
		set->dict_uri != NULL ? "(shared)" : paths.journal,
		mailmove_core_queued_count(service.core), set->max_workers,
		set->max_per_host);
	/* Jobs queued before a restart start without waiting for a login. */
	worker_dispatch_schedule(service.dispatch);
}

static void main_deinit(void)
{
	service.shutting_down = TRUE;
	client_connections_deinit();
	worker_dispatch_deinit(&service.dispatch);
	userdb_lookup_deinit(&service.userdb);
	mailmove_core_deinit(&service.core);
	event_unref(&service.event);
}

int main(int argc, char *argv[])
{
	const enum master_service_flags service_flags =
		MASTER_SERVICE_FLAG_NO_IDLE_DIE;
	struct mailmove_service_settings set;
	const char *error;

	master_service = master_service_init("mailmove", service_flags,
					     &argc, &argv, "");
	if (master_getopt(master_service) > 0)
		return FATAL_DEFAULT;
	if (mailmove_settings_read(&set, &error) < 0)
		i_fatal("Error reading configuration: %s", error);
	master_service_init_log(master_service);

	restrict_access_by_env(RESTRICT_ACCESS_FLAG_ALLOW_ROOT, NULL);
	restrict_access_allow_coredumps(TRUE);
	/* Before opening the table: waiting for a previous process to let go
	   of it must not look like a hung start to the master. */
	master_service_init_finish(master_service);

	main_init(&set);
	master_service_run(master_service, client_connected);
	main_deinit();

	master_service_deinit(&master_service);
	return 0;
}
