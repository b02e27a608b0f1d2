/* Dovecot's dict API under the shared job table (dict-kv-port.h). Every
   call is synchronous: the service waits for the store, as it waits for
   its local journal's write(). Only opening the dict differs between
   2.3 (a URI) and 2.4 (settings). */

#include "lib.h"
#include "dict.h"
#include "dict-kv-port.h"

#ifdef MAILMOVE_DOVECOT_24
#  include "array.h"
#  include "settings.h"
#  include "master-service.h"
#endif

struct mailmove_dict {
	struct dict *dict;
};

/* dict_drivers_register_builtin() is counted on 2.4 but not on 2.3. */
static unsigned int mailmove_dict_drivers_refcount = 0;

static void mailmove_dict_drivers_ref(void)
{
	if (mailmove_dict_drivers_refcount++ == 0)
		dict_drivers_register_builtin();
}

static void mailmove_dict_drivers_unref(void)
{
	if (--mailmove_dict_drivers_refcount == 0)
		dict_drivers_unregister_builtin();
}

#ifdef MAILMOVE_DOVECOT_24
/* Dovecot 2.4 creates a dict from its settings, not from a URI: the table
   is the dict of the mailmove { } filter,
     mailmove {
       dict redis {
         redis_host = 127.0.0.1
       }
     }
   (or dict proxy { dict_proxy_name = mailmove } for a dict_server's SQL
   dict), opened with dict_init_auto() the way 2.4's own plugins
   (last_login, quota_clone) open theirs. */
#define MAILMOVE_DICT_FILTER "mailmove"

/* The service's event with the mailmove { } filter (and the dict { }
   named list filter when dict_name is not NULL); the caller's to unref. */
static struct event *mailmove_dict_event(const char *dict_name)
{
	struct event *event = event_create(master_service_get_event(master_service));

	settings_event_add_filter_name(event, MAILMOVE_DICT_FILTER);
	if (dict_name != NULL)
		settings_event_add_list_filter_name(event, "dict", dict_name);
	return event;
}

static int mailmove_dict_settings(const char *dict_name,
				  const struct dict_settings **set_r,
				  const char **error_r)
{
	struct event *event = mailmove_dict_event(dict_name);
	int ret;

	ret = settings_get(event, &dict_setting_parser_info, 0, set_r, error_r);
	event_unref(&event);
	return ret;
}

int mailmove_dict_configured(const char **description_r, const char **error_r)
{
	const struct dict_settings *set, *dict_set;
	const char *name;
	int ret;

	*description_r = NULL;
	if (mailmove_dict_settings(NULL, &set, error_r) < 0)
		return -1;
	if (array_is_empty(&set->dicts)) {
		settings_free(set);
		return 0;
	}
	name = t_strdup(array_idx_elem(&set->dicts, 0));
	settings_free(set);
	ret = mailmove_dict_settings(name, &dict_set, error_r);
	if (ret < 0)
		return -1;
	/* The driver first, as in a 2.3 URI: it is all the service logs of
	   it. */
	*description_r = t_strdup_printf("%s:" MAILMOVE_DICT_FILTER " { dict %s }",
					 dict_set->dict_driver, name);
	settings_free(dict_set);
	return 1;
}

int mailmove_dict_open(const char *uri ATTR_UNUSED,
		       const char *base_dir ATTR_UNUSED,
		       struct mailmove_dict **dict_r, const char **error_r)
{
	struct event *event = mailmove_dict_event(NULL);
	struct dict *dict;
	const char *error;
	int ret;

	mailmove_dict_drivers_ref();
	ret = dict_init_auto(event, &dict, &error);
	event_unref(&event);
	if (ret <= 0) {
		*error_r = t_strdup_printf(MAILMOVE_DICT_FILTER " { dict }: %s", error);
		mailmove_dict_drivers_unref();
		return -1;
	}
	*dict_r = i_new(struct mailmove_dict, 1);
	(*dict_r)->dict = dict;
	return 0;
}
#else
int mailmove_dict_open(const char *uri, const char *base_dir,
		       struct mailmove_dict **dict_r, const char **error_r)
{
	struct dict_settings set;
	struct dict *dict;
	const char *error;

	mailmove_dict_drivers_ref();
	i_zero(&set);
	set.base_dir = base_dir;
	if (dict_init(uri, &set, &dict, &error) < 0) {
		*error_r = t_strdup_printf("dict_init(%s) failed: %s", uri, error);
		mailmove_dict_drivers_unref();
		return -1;
	}
	*dict_r = i_new(struct mailmove_dict, 1);
	(*dict_r)->dict = dict;
	return 0;
}
#endif

void mailmove_dict_close(struct mailmove_dict **_dict)
{
	struct mailmove_dict *dict = *_dict;

	if (dict == NULL)
		return;
	*_dict = NULL;
	dict_wait(dict->dict);
	dict_deinit(&dict->dict);
	i_free(dict);
	mailmove_dict_drivers_unref();
}

struct mailmove_dict_commit_result {
	bool done;
	int ret;
	char *error;
};

static void
mailmove_dict_commit_callback(const struct dict_commit_result *result,
			      struct mailmove_dict_commit_result *ctx)
{
	ctx->done = TRUE;
	ctx->ret = result->ret;
	if (result->ret < 0)
		ctx->error = i_strdup(result->error != NULL ? result->error : "unknown error");
}

static const struct dict_op_settings mailmove_dict_op_set = {
	.username = "",
	.home_dir = NULL,
};

int mailmove_dict_lookup(struct mailmove_dict *dict, const char *key,
			 char **value_r, char **error_r)
{
	int ret;

	*value_r = NULL;
	/* A frame of its own: status -A looks up every job. */
	T_BEGIN {
		const char *value, *error;

		ret = dict_lookup(dict->dict, &mailmove_dict_op_set,
				  pool_datastack_create(),
				  t_strconcat(DICT_PATH_SHARED, key, NULL),
				  &value, &error);
		if (ret > 0)
			*value_r = i_strdup(value);
		else if (ret < 0)
			*error_r = i_strdup_printf("dict lookup of %s failed: %s",
						   key, error);
	} T_END;
	return ret;
}

int mailmove_dict_commit(struct mailmove_dict *dict, const char *const *keys,
			 const char *const *values, unsigned int count,
			 char **error_r)
{
	int ret;

	T_BEGIN {
		struct dict_transaction_context *trans;
		unsigned int i;

		trans = dict_transaction_begin(dict->dict, &mailmove_dict_op_set);
		for (i = 0; i < count; i++) {
			const char *key = t_strconcat(DICT_PATH_SHARED, keys[i], NULL);

			if (values[i] != NULL)
				dict_set(trans, key, values[i]);
			else
				dict_unset(trans, key);
		}
		/* Asynchronous commit, then wait for it: the redis driver's
		   synchronous commit crashed when called from an ioloop
		   callback (Dovecot 2.3.19). */
		struct mailmove_dict_commit_result result;

		i_zero(&result);
		dict_transaction_commit_async(&trans, mailmove_dict_commit_callback,
					      &result);
		while (!result.done)
			dict_wait(dict->dict);
		/* NOTFOUND (0) only concerns dict_atomic_inc(), not used. */
		ret = result.ret < 0 ? -1 : 0;
		if (ret < 0) {
			*error_r = i_strdup_printf("dict commit failed: %s", result.error);
			i_free(result.error);
		}
	} T_END;
	return ret;
}
