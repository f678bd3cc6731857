//! The conformance suite: every case runs, unchanged, against every backend,
//! through the real session-logic component in the real host. A backend is
//! done when it passes all of it: each case runs on every backend of the
//! registry (`nexau_session::storage::backends::BACKENDS`).

#[path = "support/mod.rs"]
mod support;

#[path = "conformance/cases.rs"]
mod cases;
#[path = "conformance/history_cases.rs"]
mod history_cases;
#[path = "conformance/lock_cases.rs"]
mod lock_cases;

macro_rules! for_every_backend {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                crate::support::on_every_backend(stringify!($case), |b| async move {
                    crate::$module::$case(&b).await;
                })
                .await;
            }
        )*
    };
}

for_every_backend!(
    cases::get_or_create_is_idempotent_and_generates_ids,
    cases::list_filters_orders_and_pages,
    cases::update_checks_the_version,
    cases::delete_removes_everything_of_the_session,
    cases::history_keeps_order_and_sequence,
    cases::idempotent_retry_is_stored_once,
    cases::replace_and_undo_shape_the_loaded_history,
    cases::dangling_tool_use_is_repaired,
    cases::duplicate_message_ids_load_once,
    cases::last_n_messages,
    cases::system_messages_are_not_stored,
    cases::users_and_sessions_are_isolated,
    cases::scopes_are_isolated,
    cases::sub_agents_have_their_own_history,
    cases::table_not_found_before_setup,
    cases::bad_ids_are_refused_and_nothing_is_written,
    cases::maintenance_find_count_delete,
    cases::deletes_leave_no_orphans,
    cases::delete_if_unchanged_spares_a_session_written_since,
    cases::deleting_stale_sessions_never_loses_an_acknowledged_append,
    cases::history_survives_across_agent_instances,
    history_cases::history_matches_a_plain_replay,
    history_cases::pages_concatenate_to_the_whole_history,
    history_cases::idempotency_key_reused_for_other_content_is_refused,
    history_cases::tail_reads_only_what_it_returns,
    history_cases::only_the_tool_messages_right_after_a_call_answer_it,
    history_cases::an_undo_rewinds_to_the_message_count_at_the_run_start,
    lock_cases::acquire_release_and_growing_tokens,
    lock_cases::held_lock_reports_holder_and_expiry,
    lock_cases::expired_lock_is_taken_over_and_stale_writes_refused,
    lock_cases::release_and_renew_only_your_own,
    lock_cases::locks_are_per_user_session_and_agent,
);

/// Cases that change stored rows underneath the engine, through a second
/// backend on the same store: every backend but `memory://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_counters_fail_and_write_nothing() {
    crate::support::on_every_backend("corrupt_counters_fail_and_write_nothing", |b| async move {
        if b.shared {
            crate::history_cases::corrupt_counters_fail_and_write_nothing(&b).await;
        }
    })
    .await;
}
