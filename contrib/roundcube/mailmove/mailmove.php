<?php

/**
 * Mail moving (dovecot-mailmove) for Roundcube.
 *
 * Settings > Mail moving shows the user's move (state in plain words, a
 * progress bar, the last error explained) and takes the legacy address and
 * password; a dismissable reminder after login while the move is not set up
 * or has failed. Everything goes through the IMAP METADATA server entries
 * /private/vendor/vendor.mailmove/* of dovecot-mailmove (imap_metadata = yes
 * on the Dovecot side), with Roundcube's own IMAP connection.
 */
class mailmove extends rcube_plugin
{
    public $task = 'mail|settings';

    const PREFIX = '/private/vendor/vendor.mailmove/';
    const ENTRIES = ['source-user', 'state', 'progress', 'started', 'finished',
                     'last-error', 'writable'];

    function init()
    {
        $rcmail = rcmail::get_instance();

        $this->add_texts('localization/', true);
        $this->add_hook('settings_actions', [$this, 'settings_actions']);
        $this->register_action('plugin.mailmove', [$this, 'settings_page']);
        $this->register_action('plugin.mailmove-save', [$this, 'save']);
        $this->register_action('plugin.mailmove-status', [$this, 'status']);
        $this->register_action('plugin.mailmove-dismiss', [$this, 'dismiss']);

        if ($rcmail->task == 'mail' && empty($rcmail->action) && empty($_SESSION['mailmove_dismissed'])) {
            $this->include_script('mailmove.js');
            $this->add_hook('render_page', [$this, 'reminder']);
        }
        if ($rcmail->task == 'settings') {
            $this->include_script('mailmove.js');
            $this->include_stylesheet('mailmove.css');
        }
    }

    /** The entries' values (null for NIL), or null when METADATA fails. */
    function entries()
    {
        $storage = rcmail::get_instance()->get_storage();
        $names = [];
        foreach (self::ENTRIES as $entry) {
            $names[] = self::PREFIX . $entry;
        }
        $result = $storage->get_metadata('', $names, [], true);
        if (!is_array($result)) {
            return null;
        }
        $server = isset($result['']) ? $result[''] : [];
        $values = [];
        foreach (self::ENTRIES as $entry) {
            $values[$entry] = isset($server[self::PREFIX . $entry]) ? $server[self::PREFIX . $entry] : null;
        }
        return $values;
    }

    /** The entries as the page and its script show them. */
    function view($values)
    {
        $state = $values['state'] ?: 'none';
        $progress = ['messages' => [0, 0], 'bytes' => [0, 0], 'folders' => [0, 0]];
        foreach (explode(' ', (string) $values['progress']) as $part) {
            if (preg_match('/^(messages|bytes|folders)=(\d+)\/(\d+)$/', $part, $m)) {
                $progress[$m[1]] = [(int) $m[2], (int) $m[3]];
            }
        }
        list($done, $total) = $progress['bytes'][1] > 0 ? $progress['bytes'] : $progress['messages'];
        $percent = $state == 'done' ? 100 : ($total > 0 ? (int) floor(100 * $done / $total) : 0);

        return [
            'state'       => $state,
            'state_text'  => $this->gettext('state_' . str_replace('-', '_', $state)),
            'percent'     => $percent,
            'messages'    => $progress['messages'],
            'folders'     => $progress['folders'],
            'counts_text' => $this->counts_text($progress['messages'], $progress['folders'][1]),
            'error_text'  => $this->explain_error($state, (string) $values['last-error']),
            'source_user' => (string) $values['source-user'],
            'writable'    => $values['writable'] !== 'no',
            'started'     => (string) $values['started'],
            'finished'    => (string) $values['finished'],
        ];
    }

    /** "N of M messages, K folders", singular where a count is one. */
    function counts_text($messages, $folders)
    {
        list($done, $total) = $messages;
        return $this->gettext(['name' => $total == 1 ? 'count_messages_one' : 'count_messages',
                               'vars' => ['done' => $done, 'total' => $total]])
            . $this->gettext('count_separator')
            . $this->gettext(['name' => $folders == 1 ? 'count_folders_one' : 'count_folders',
                              'vars' => ['folders' => $folders]]);
    }

    /** The last error in words a user can act on. */
    function explain_error($state, $error)
    {
        if ($state == 'auth-failed') {
            return $this->gettext('error_password');
        }
        if ($error === '') {
            return '';
        }
        if (preg_match('/authoriz|app.?password|application.specific|授权码/i', $error)) {
            return $this->gettext('error_authcode');
        }
        if (preg_match('/AUTHENTICATIONFAILED|refused the login|password/i', $error)) {
            return $this->gettext('error_password');
        }
        return $this->gettext('error_other') . ' ' . $error;
    }

    function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => 'plugin.mailmove',
            'class'  => 'mailmove',
            'label'  => 'mailmoving',
            'title'  => 'mailmoving',
            'domain' => 'mailmove',
        ];
        return $args;
    }

    function settings_page()
    {
        $rcmail = rcmail::get_instance();
        $this->register_handler('plugin.body', [$this, 'settings_form']);
        $rcmail->output->set_pagetitle($this->gettext('mailmoving'));
        $rcmail->output->send('plugin');
    }

    function settings_form()
    {
        $rcmail = rcmail::get_instance();
        $values = $this->entries();
        if ($values === null) {
            return html::div('boxerror', rcube::Q($this->gettext('unavailable')));
        }
        $view = $this->view($values);
        $rcmail->output->set_env('mailmove', $view);
        $rcmail->output->add_label('mailmove.saved', 'mailmove.state_running');

        $table = new html_table(['cols' => 2, 'class' => 'propform']);
        $table->add('title', html::label('mailmove-user', rcube::Q($this->gettext('legacy_address'))));
        $user = new html_inputfield(['name' => '_mailmove_user', 'id' => 'mailmove-user',
                                     'size' => 40, 'autocomplete' => 'off']);
        $table->add(null, $user->show($view['source_user']) . html::p('hint',
            rcube::Q($this->gettext('legacy_address_hint'))));
        $table->add('title', html::label('mailmove-password', rcube::Q($this->gettext('legacy_password'))));
        $password = new html_passwordfield(['name' => '_mailmove_password', 'id' => 'mailmove-password',
                                            'size' => 40, 'autocomplete' => 'off']);
        $table->add(null, $password->show());

        $status = html::div(['id' => 'mailmove-state', 'class' => 'mailmove-state'],
                            rcube::Q($view['state_text']))
            . html::div(['class' => 'mailmove-bar', 'style' => 'width:100%;max-width:30em;height:1.2em;'
                         . 'border:1px solid #999;border-radius:3px;background:#eee;margin:.3em 0'],
                        html::div(['id' => 'mailmove-bar', 'style' => 'height:100%;background:#37beff;'
                                   . 'width:' . $view['percent'] . '%'], ''))
            . html::div(['id' => 'mailmove-counts'], rcube::Q($view['counts_text']))
            . html::div(['id' => 'mailmove-error', 'class' => 'mailmove-error'], rcube::Q($view['error_text']));

        $form = $rcmail->output->form_tag(['id' => 'mailmove-form', 'name' => 'mailmove-form',
                                           'method' => 'post', 'action' => './?_task=settings&_action=plugin.mailmove-save'],
            html::tag('fieldset', null, html::tag('legend', null, rcube::Q($this->gettext('status'))) . $status)
            . ($view['writable'] ? html::tag('fieldset', null,
                html::tag('legend', null, rcube::Q($this->gettext('old_mailbox'))) . $table->show())
                . html::p('formbuttons', html::tag('button', ['type' => 'submit', 'id' => 'mailmove-save',
                    'class' => 'button mainaction submit'], rcube::Q($this->gettext('save'))))
              : html::p('hint', rcube::Q($this->gettext('not_writable')))));

        return html::div(['class' => 'formcontent mailmove'], $form);
    }

    function save()
    {
        $rcmail = rcmail::get_instance();
        $user = trim(rcube_utils::get_input_string('_mailmove_user', rcube_utils::INPUT_POST));
        $password = rcube_utils::get_input_string('_mailmove_password', rcube_utils::INPUT_POST, true);
        $entries = [];
        $values = $this->entries();
        if ($user !== '' && $values !== null && $user !== (string) $values['source-user']) {
            $entries[self::PREFIX . 'source-user'] = $user;
        }
        if ($password !== '') {
            $entries[self::PREFIX . 'source-password'] = $password;
        }
        if ($entries) {
            $ok = $rcmail->get_storage()->set_metadata('', $entries);
            if ($ok) {
                $rcmail->output->show_message('mailmove.saved', 'confirmation');
            } else {
                $rcmail->output->show_message($this->gettext('save_failed') . ' '
                    . $rcmail->get_storage()->get_error_str(), 'error');
            }
        }
        $rcmail->overwrite_action('plugin.mailmove');
        $this->settings_page();
    }

    /** The move as JSON, for the progress bar's refresh. */
    function status()
    {
        $values = $this->entries();
        header('Content-Type: application/json');
        echo json_encode($values === null ? ['state' => 'unknown'] : $this->view($values));
        exit;
    }

    function dismiss()
    {
        $_SESSION['mailmove_dismissed'] = true;
        rcmail::get_instance()->output->send();
    }

    /** After login, on the mail page: the reminder while nothing moves. */
    function reminder($args)
    {
        $rcmail = rcmail::get_instance();
        if ($args['template'] != 'mail' || !empty($_SESSION['mailmove_dismissed'])) {
            return $args;
        }
        $values = $this->entries();
        if ($values === null) {
            return $args;
        }
        $state = $values['state'] ?: 'none';
        if (in_array($state, ['none', 'failed', 'auth-failed']) && $values['writable'] !== 'no') {
            $rcmail->output->set_env('mailmove_reminder', [
                'title' => $this->gettext('mailmoving'),
                'text'  => $this->gettext($state == 'none' ? 'reminder_setup' : 'reminder_failed'),
                'open'  => $this->gettext('open_settings'),
                'later' => $this->gettext('dismiss'),
            ]);
        }
        return $args;
    }
}
