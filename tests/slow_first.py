"""The test files that take longest, slowest first: collected first, so that
pytest-xdist (``--dist loadfile`` hands out files in collection order) starts
them early and the short files fill the end. In collection order, a few long
files came last and ran alone on a core while the others idled (the fresh
clone of d8fdd03: the last 13% of the tests took a third of the 891 s).

Measured (time43): per-file time summed over its tests (junit), the whole
suite on 2 cores, -n 4, 2026-12-06 (4,717 tests, 1,052 s on a machine shared
with other runs); every file of 12 s or more, slowest first (the figure
beside each). The list of stop 42 missed 57 of them, the 66 s
test_silent39_host_parks_silent.py among them. test_wheel.py and
test_typing.py measured cold there (no build/ objects, no mypy cache: 101 s
and 55 s); after ``make build`` and ``make lint`` they take a few seconds,
and first is harmless. Since that run, time43 made terms4's view silence one
session with silent38's and review40b's five text-browser runs one (both
files out of the list). Stop 43's new files of 12 s or more were measured
on a quiet machine (-n 4, their own run), marked so. time44 shortened three
files' waits (silent38 and relay43_hold share a session, silent39's resume
test sets a shorter cold) and measured them in their own runs, marked so.
Stop 45's new files of 12 s or more: one run of the stop's new files (-n 2,
load 3.5), marked so. flake48d ran tests/relay, tests/web and the top-level
files twice each (-n 2, their own runs, load 15-30 from the other runs on
the machine) and added those of 12 s or more on the mean of the two that
were missing, marked so: the CLI files' times moved most with the load
(failover42_cli 5.8 s in one run, 26.9 s in the other), so their figures
are high.
lead49 added the files of 18 s or more that were missing, from two
full runs (-n 6, quiet, 2026-12-07), with the figures of those run
while time49a-d made them faster where those were measured.
Stop 52 added its two new files of 18 s or more (-n 2, their own run).
An approximation is enough: it only orders."""

from __future__ import annotations

__all__ = ["SLOW_FIRST"]

SLOW_FIRST = (
    "tests/test_wheel.py",  # 101 s
    "tests/relay/test_relay44_frozen_relay.py",  # 93 s (time49c, own run)
    "tests/relay/test_epoch41_host_waits.py",  # 74 s
    "tests/transport/test_walk52_control_again.py",  # 70 s, all but 1 s a wait (stop 52, -n 2)
    "tests/test_typing.py",  # 55 s
    "tests/transport/test_walk38_reconnect_words.py",  # 54 s
    "tests/transport/test_endbye_slow_link.py",  # 52 s
    "tests/web/test_web_cli_signals.py",  # 47 s
    "tests/test_walk41_view_stop.py",  # 47 s (flake48d, loaded)
    "tests/transport/test_odds40_cold_open_question.py",  # 46 s
    "tests/capture/test_synthetic.py",  # 44 s
    "tests/transport/test_silent39_host_parks_silent.py",  # 44 s (time44, own run, load 7-9)
    "tests/transport/test_silent38_host_hears.py",  # 43 s (time44, own run, -n 2, load 8)
    "tests/recording/test_play_memory.py",  # 41 s
    "tests/web/test_page_worker.py",  # 39 s (flake48d, loaded)
    "tests/web/test_web_playback.py",  # 37 s
    "tests/recording/test_rec32_hosts_memory.py",  # 37 s
    "tests/relay/test_relay43_hold.py",  # 36 s (time44, own run, -n 2, load 8)
    "tests/web/test_webopen38_page_not_opened.py",  # 36 s
    "tests/transport/test_attack36_blip.py",  # 35 s
    "tests/web/test_page46_reconnecting.py",  # 31 s (flake48d, loaded)
    "tests/test_walkfix36_frozen_view.py",  # 29 s
    "tests/transport/test_view_cli_send_screens.py",  # 29 s
    "tests/test_walk4_files.py",  # 29 s
    "tests/codec/test_attack2_hints.py",  # 28 s
    "tests/transport/test_kept_attack.py",  # 28 s
    "tests/transport/test_cliux_status.py",  # 28 s
    "tests/relay/test_attack40_redis_stall.py",  # 28 s
    "tests/test_walkfix36_same_name.py",  # 27 s (flake48d, loaded)
    "tests/transport/test_resume_attacks.py",  # 26 s
    "tests/test_walk41_status_moving.py",  # 26 s
    "tests/transport/test_silent39_host_disk_wait.py",  # 26 s
    "tests/transport/test_type43_view_typing.py",  # 26 s (stop 43, quiet, -n 4)
    "tests/web/test_pagekept_wasm.py",  # 26 s (flake48d, loaded)
    "tests/linkbench/test_steps.py",  # 25 s
    "tests/transport/test_review39b_false_loss_levels.py",  # 25 s
    "tests/test_walk3_page.py",  # 24 s
    "tests/relay/test_ends36_host_end_relay.py",  # 24 s (flake48d, loaded)
    "tests/transport/test_view_cli_signals.py",  # 24 s (lead49, two full runs, -n 6)
    "tests/transport/test_walk52_host_stopped_words.py",  # 18 s, a wait (stop 52, -n 2)
    "tests/web/test_pagelive_silence.py",  # 23 s
    "tests/transport/test_attack_local_presses.py",  # 23 s
    "tests/transport/test_input44_two_agents.py",  # 23 s (stop 44, shared machine, -n 1)
    "tests/codec/test_review46_blank_under_rests.py",  # 23 s (lead49, two full runs, -n 6)
    "tests/transport/test_walk40_back_after.py",  # 22 s
    "tests/transport/test_review45_keyrep_attacks.py",  # 22 s (stop 45, new files' run)
    "tests/web/test_agent_errors.py",  # 22 s (flake48d, loaded)
    "tests/test_cli_lazy.py",  # 22 s (flake48d, loaded)
    "tests/test_walk41_png_first.py",  # 22 s (flake48d, loaded)
    "tests/transport/test_words39_say_at_the_answer.py",  # 22 s (lead49, two full runs, -n 6)
    "tests/web/test_ends36_web_ended_away.py",  # 21 s
    "tests/relay/test_attack_crowded_code.py",  # 21 s
    "tests/transport/test_attack_close_channel.py",  # 21 s
    "tests/web/test_web39_view_web_cli.py",  # 21 s
    "tests/codec/test_fuzz.py",  # 21 s
    "tests/transport/test_review42_forged_receipts.py",  # 21 s
    "tests/relay/test_attack4_stale_ended.py",  # 21 s
    "tests/codec/test_keep.py",  # 21 s
    "tests/test_walkfix35b_host.py",  # 21 s
    "tests/test_walk3_view_cli.py",  # 21 s
    "tests/transport/test_type43_held_keys.py",  # 21 s (stop 43, quiet, -n 4)
    "tests/web/test_webtail39_view_web.py",  # 21 s (flake48d, loaded)
    "tests/web/test_walk33_playback_signals.py",  # 21 s (flake48d, loaded)
    "tests/test_lingers_x_gone_close.py",  # 21 s (flake48d, loaded)
    "tests/transport/test_small_file_durable.py",  # 21 s (lead49, two full runs, -n 6)
    "tests/video/test_rest_sequences.py",  # 21 s (time49, its author's run)
    "tests/transport/test_silent39_channel_cold.py",  # 20 s
    "tests/transport/test_terminals_x_gone.py",  # 20 s
    "tests/transport/test_review44_type.py",  # 20 s (stop 44, its author's run)
    "tests/web/test_review44_page_held_notice.py",  # 20 s (stop 44, its author's run)
    "tests/web/test_review40b_text_browser.py",  # 20 s (flake48d, loaded)
    "tests/test_walk41_password_groups.py",  # 20 s (flake48d, loaded)
    "tests/web/test_walk44_page_saved_where.py",  # 19 s (stop 44, its author's run)
    "tests/web/test_odds40_playback_browser_reaped.py",  # 19 s
    "tests/test_leak_check.py",  # 19 s
    "tests/relay/test_relay42_attack_grace.py",  # 19 s
    "tests/transport/test_review39b_clip_sync.py",  # 19 s
    "tests/web/test_relay43_page_waits_for_host.py",  # 19 s (stop 43, quiet, -n 4)
    "tests/web/test_xstop_web_lost.py",  # 19 s (flake48d, loaded)
    "tests/web/test_files37_page_download_cancel.py",  # 19 s (flake48d, loaded)
    "tests/transport/test_view_ctrl_c_moments.py",  # 19 s (lead49, two full runs, -n 6)
    "tests/transport/test_endleft_viewer_limit.py",  # 18 s
    "tests/relay/test_review43_stopped_relay_wakes.py",  # 18 s (stop 43, quiet, -n 4)
    "tests/web/test_walk42_page_reconnect_words.py",  # 18 s (flake48d, loaded)
    "tests/relay/test_relay_log.py",  # 18 s (flake48d, loaded)
    "tests/web/test_web_exact.py",  # 18 s (flake48d, loaded)
    "tests/test_walk39_cli_args.py",  # 18 s (flake48d, loaded)
    "tests/transport/test_walk37_host_end_unanswered.py",  # 18 s (lead49, two full runs, -n 6)
    "tests/codec/test_attack_scroll_prediction.py",  # 18 s (lead49, two full runs, -n 6)
    "tests/codec/test_ratecontrol.py",  # 18 s (time49, its author's run)
    "tests/transport/test_clip39_cli.py",  # 17 s
    "tests/relay/test_epoch41_restarts.py",  # 17 s
    "tests/decoder/test_med_attacks.py",  # 17 s
    "tests/web/test_web_cli.py",  # 17 s
    "tests/damage/test_damage_tilediff.py",  # 17 s
    "tests/transport/test_relay_notice.py",  # 17 s
    "tests/web/test_page_restart_picture.py",  # 17 s
    "tests/web/test_js_decoder.py",  # 17 s
    "tests/web/test_pagefiles_rows.py",  # 17 s (flake48d, loaded)
    "tests/relay/test_walk36_host_stop_away.py",  # 17 s (flake48d, loaded)
    "tests/web/test_agent_page.py",  # 17 s (flake48d, loaded)
    "tests/web/test_webtail39_used_key.py",  # 17 s (flake48d, loaded)
    "tests/test_walk35_host_send_cut.py",  # 17 s (flake48d, loaded)
    "tests/test_cli_extras.py",  # 17 s (flake48d, loaded)
    "tests/transport/test_endbye_disconnect.py",  # 16 s
    "tests/transport/test_tagsrc_xstop_open.py",  # 16 s
    "tests/transport/test_ask42_host.py",  # 16 s
    "tests/transport/test_terms4_file_progress.py",  # 16 s
    "tests/transport/test_closeorder_slow_viewer.py",  # 16 s
    "tests/web/test_video44_ceiling_decodes.py",  # 16 s (stop 44, its author's run)
    "tests/video/test_rate_floor.py",  # 16 s (stop 45, new files' run)
    "tests/relay/test_failover42_cli.py",  # 16 s (flake48d, loaded)
    "tests/web/test_odds40_web_host_failed.py",  # 16 s (flake48d, loaded)
    "tests/web/test_newuser2_no_browser.py",  # 16 s (flake48d, loaded)
    "tests/transport/test_review42_coarse_keyframe.py",  # 16 s (time49, its author's run)
    "tests/transport/test_newuser_view_terminal.py",  # 15 s
    "tests/web/test_odds40_browser_reaped.py",  # 15 s
    "tests/web/test_pagekept_resume.py",  # 15 s
    "tests/transport/test_closeorder_review.py",  # 15 s
    "tests/transport/test_join_picture.py",  # 15 s
    "tests/transport/test_file_pacing.py",  # 15 s
    "tests/relay/test_follow42_cli.py",  # 15 s (flake48d, loaded)
    "tests/web/test_pagekept_digest.py",  # 15 s (flake48d, loaded)
    "tests/web/test_review39a_browser_thread_ends.py",  # 15 s (flake48d, loaded)
    "tests/web/test_web39_second_tab.py",  # 14 s
    "tests/recording/test_walk44_export_progress.py",  # 14 s (stop 44, its author's run)
    "tests/transport/test_keys44_text_keys.py",  # 14 s (stop 44, its author's run)
    "tests/transport/test_keys44_resume_told.py",  # 14 s (stop 44, its author's run)
    "tests/motion/test_attack_drag_guess.py",  # 14 s
    "tests/linkbench/test_wire.py",  # 14 s
    "tests/codec/test_encoder_hints.py",  # 14 s
    "tests/test_cli.py",  # 14 s
    "tests/web/test_pagewords_reconnect.py",  # 14 s (flake48d, loaded)
    "tests/relay/test_endwords35_view_reconnect_ended.py",  # 14 s (flake48d, loaded)
    "tests/web/test_walk42_page_save_after_end.py",  # 14 s (flake48d, loaded)
    "tests/web/test_audit38_web_exit_status.py",  # 14 s (flake48d, loaded)
    "tests/test_walk46_say_long_line.py",  # 14 s (flake48d, loaded)
    "tests/test_review41a_send_folder_dash.py",  # 14 s (flake48d, loaded)
    "tests/capture/test_scenarios.py",  # 13 s
    "tests/transport/test_view_cli_end.py",  # 13 s
    "tests/transport/test_review44_two_agents.py",  # 13 s (stop 44, its author's run)
    "tests/web/test_walk40_page_view_stopped.py",  # 13 s
    "tests/transport/test_review40a_two_half_files.py",  # 13 s
    "tests/web/test_webopen38_web_words.py",  # 13 s
    "tests/motion/test_motion_pieces.py",  # 13 s
    "tests/linkbench/test_scroll43_pagedown.py",  # 13 s (stop 43, quiet, -n 4)
    "tests/transport/test_keyrep45_no_host_repeat.py",  # 13 s (stop 45, new files' run)
    "tests/web/test_newuser2_page_states.py",  # 13 s (flake48d, loaded)
    "tests/relay/test_failover42_host_moves.py",  # 13 s (flake48d, loaded)
    "tests/web/test_walkfix36_page_reask_declined.py",  # 13 s (flake48d, loaded)
    "tests/test_review41a_view_stop_all_gone.py",  # 13 s (flake48d, loaded)
    "tests/test_review2_hub_shared_race.py",  # 13 s (flake48d, loaded)
    "tests/transport/test_cli.py",  # 12 s
    "tests/transport/test_attack_prompts.py",  # 12 s
    "tests/test_smallleft35_top_word.py",  # 12 s
    "tests/transport/test_walk36_host_let_in_to_nothing.py",  # 12 s
    "tests/web/test_walk34_left_upload.py",  # 12 s (flake48d, loaded)
    "tests/relay/test_attack40_metrics_labels.py",  # 12 s (flake48d, loaded)
    "tests/relay/test_follow42_hostile_lists.py",  # 12 s (flake48d, loaded)
    "tests/web/test_web_cli_max_pixels.py",  # 12 s (flake48d, loaded)
    "tests/relay/test_relay42_flushed_key.py",  # 12 s (flake48d, loaded)
)
