#ifndef MAILMOVE_PLUGIN_H
#define MAILMOVE_PLUGIN_H

struct module;

extern struct event_category event_category_mailmove;

extern const char *mailmove_plugin_version;

void mailmove_plugin_init(struct module *module);
void mailmove_plugin_deinit(void);

#endif
