"""The test files that take longest, slowest first: collected first, so that
pytest-xdist (``--dist loadfile`` hands out files in collection order) starts
them early and the short files fill the end. In collection order, a few long
files came last and ran alone on a core while the others idled (the fresh
clone of d8fdd03: the last 13% of the tests took a third of the 891 s).

Measured: per-file time summed over its tests, a full run on 2 cores
(2026-12-06, /tmp/dur junit); files added since sit where their own runs put
them. An approximation is enough: it only orders."""

from __future__ import annotations

__all__ = ["SLOW_FIRST"]

SLOW_FIRST = (
    "tests/test_wheel.py",
    "tests/recording/test_rec32_hosts_memory.py",
    "tests/test_typing.py",
    "tests/recording/test_play_memory.py",
    "tests/web/test_ends36_web_ended_away.py",
    "tests/web/test_web_cli_signals.py",
    "tests/codec/test_fuzz.py",
    "tests/relay/test_epoch41_host_waits.py",  # added 42: a 66 s --claim-ttl 66 test
    "tests/transport/test_silent38_host_hears.py",  # added 38: 54 s (-n 2)
    "tests/transport/test_walk38_reconnect_words.py",  # 49 s
    "tests/web/test_webopen38_page_not_opened.py",  # 34 s
    "tests/codec/test_attack_scroll_prediction.py",
    "tests/web/test_agent_errors.py",
    "tests/transport/test_terminals_exit_status.py",
    "tests/recording/test_cli_verify_prune.py",
    "tests/codec/test_encoder_real_damage.py",
    "tests/transport/test_view_cli_signals.py",
    "tests/web/test_webopen38_web_words.py",  # added 38: 13 s
    "tests/transport/test_stopdisk_view.py",
    "tests/test_walk3_view_cli.py",
    "tests/relay/test_ends36_host_end_relay.py",
    "tests/transport/test_view_cli_end.py",
    "tests/transport/test_view_ctrl_c_moments.py",
    "tests/transport/test_resume_cli.py",
    "tests/relay/test_endwords35_view_reconnect_ended.py",
    "tests/transport/test_attack36_blip.py",
    "tests/test_walkfix36_frozen_view.py",
    "tests/transport/test_host37_stop_taken_saved.py",
    "tests/transport/test_host37_end_line_then_banner.py",
    "tests/web/test_files37_page_download_cancel.py",
    "tests/transport/test_walk37_host_end_unanswered.py",
    "tests/transport/test_host_cli_commands.py",
    "tests/transport/test_view_cli_ux.py",
    "tests/relay/test_attack_crowded_code.py",
    "tests/relay/test_relay_log.py",
    "tests/transport/test_cli.py",
    "tests/test_walk4_files.py",
    "tests/web/test_js_decoder.py",
    "tests/transport/test_chatack_cli.py",
    "tests/transport/test_relay_notice.py",
    "tests/video/test_video_beside_scroll.py",
    "tests/test_walkfix35b_host.py",
    "tests/recording/test_host_cli.py",
    "tests/transport/test_endbye_slow_link.py",
    "tests/relay/test_walk36_host_stop_away.py",
    "tests/transport/test_terms4_file_progress.py",
    "tests/transport/test_terminals_x_gone.py",
    "tests/transport/test_rstop36_host_cli.py",
    "tests/transport/test_words32_unconfirmed.py",
    "tests/recording/test_signed_host.py",
    "tests/recording/test_newuser_keygen_exists.py",
    "tests/transport/test_tagsrc_xstop_open.py",
    "tests/web/test_pagekept_resume.py",
    "tests/relay/test_relayleft_ended_window.py",
    "tests/transport/test_control_refusal_cli.py",
    "tests/transport/test_host_cli_signals.py",
    "tests/test_walk3_page.py",
    "tests/web/test_walk33_playback_signals.py",
    "tests/transport/test_attack35_resume_tickets.py",
    "tests/recording/test_other_auditor_key.py",
    "tests/transport/test_walk34_unanswered_end.py",
    "tests/web/test_page_restart_picture.py",
    "tests/web/test_web_cli.py",
    "tests/transport/test_view_cli_send_screens.py",
    "tests/web/test_web_playback.py",
)
