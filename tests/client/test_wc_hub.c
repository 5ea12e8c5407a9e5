/*
 * test_wc_hub.c - unit tests of the hub lines the client recognises: the
 * room line ("* you are in #dev (3 here)") and private lines ("* alice ->
 * you: hi", "* you -> alice: hi"), with the lines that try to pass for
 * them (another user's "nick: * you are in ..."), and the room followed
 * frame by frame through a session.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_hub.h"
#include "wc_session.h"

/* wc_hub_room_line on a NUL-terminated line: the room, or NULL. */
static const char *room_of_line(const char *line)
{
    static char room[WC_ROOM_BUF];

    memset(room, 'x', sizeof(room));
    if (!wc_hub_room_line(line, strlen(line), room))
        return NULL;
    return room;
}

/* wc_hub_room_in_text on a NUL-terminated text: the room, or NULL. */
static const char *room_of_text(const char *text)
{
    static char room[WC_ROOM_BUF];

    memset(room, 'x', sizeof(room));
    if (!wc_hub_room_in_text(text, strlen(text), room))
        return NULL;
    return room;
}

static void test_room_line_accepted(void **state)
{
    (void)state;
    assert_string_equal(room_of_line("* you are in #dev (3 here)"), "#dev");
    assert_string_equal(room_of_line("* you are in #dev (3 here)\r"), "#dev");
    assert_string_equal(room_of_line("* you are in #lobby (1 here)"), "#lobby");
    assert_string_equal(room_of_line("* you are in #A-z_0.9 (123456789 here)"), "#A-z_0.9");
    assert_string_equal(room_of_line("* you are in #x (0 here)"), "#x");
    /* 32 characters: the longest name. */
    assert_string_equal(room_of_line("* you are in #abcdefghijklmnopqrstuvwxyz012345 (2 here)"),
                        "#abcdefghijklmnopqrstuvwxyz012345");
}

static void test_room_line_refused(void **state)
{
    static const char *const fakes[] = {
        /* Another user's line: the hub puts "nick: " in front. */
        "mallory: * you are in #evil (1 here)",
        "mallory: * you are in #evil (1 here)\r",
        /* Not at the very start of the line. */
        " * you are in #evil (1 here)",
        "\t* you are in #evil (1 here)",
        "** you are in #evil (1 here)",
        /* Something after it, or a different shape. */
        "* you are in #evil (1 here) ",
        "* you are in #evil (1 here)x",
        "* you are in #evil (1 here)\r\r",
        "* you are in #evil (1 here)\rmore",
        "* you are in #evil  (1 here)",
        "* you are in #evil (1 here",
        "* you are in #evil (1  here)",
        "* you are in #evil ( 1 here)",
        "* you are in #evil (-1 here)",
        "* you are in #evil (+1 here)",
        "* you are in #evil (x here)",
        "* you are in #evil ( here)",
        "* you are in #evil (1234567890 here)",
        "* you are in #evil",
        "* you are in #evil ",
        "* you are in evil (1 here)",
        "* you are in ##evil (1 here)",
        "* You are in #evil (1 here)",
        "*  you are in #evil (1 here)",
        "* you are in # (1 here)",
        "* you are in #",
        "* you are in ",
        "",
        /* Not a room name: other characters, or too long (33). */
        "* you are in #ev il (1 here)",
        "* you are in #ev:il (1 here)",
        "* you are in #evil! (1 here)",
        "* you are in #\u00f1and\u00fa (1 here)",
        "* you are in #ev\x1b[2Jil (1 here)",
        "* you are in #abcdefghijklmnopqrstuvwxyz0123456 (2 here)",
    };
    char room[WC_ROOM_BUF] = "#keep";

    (void)state;
    for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
        if (room_of_line(fakes[i]) != NULL)
            fail_msg("accepted as a room line: \"%s\"", fakes[i]);
    }
    /* A NUL inside the line is a byte like any other, not an end. */
    assert_int_equal(wc_hub_room_line("* you are in #dev (3 here)\0", 27, room), 0);
    assert_int_equal(wc_hub_room_line("* you are in #d\0v (3 here)", 26, room), 0);
    assert_string_equal(room, "#keep");
    assert_int_equal(wc_hub_room_line(NULL, 0, room), 0);
}

static void test_room_in_text(void **state)
{
    (void)state;
    /* The last room line wins: joining, then parting. */
    assert_string_equal(room_of_text("* alice joined\r\n"
                                     "alice: hello\r\n"
                                     "* you are in #dev (3 here)\r\n"),
                        "#dev");
    assert_string_equal(room_of_text("* you are in #dev (3 here)\r\n"
                                     "bob: hi\r\n"
                                     "* you are in #lobby (2 here)\r\n"
                                     "* alice joined\r\n"),
                        "#lobby");
    assert_string_equal(room_of_text("* you are in #dev (3 here)\n"), "#dev");
    /* A user's line cannot pass for one, even as the last line. */
    assert_string_equal(room_of_text("* you are in #dev (3 here)\r\n"
                                     "mallory: * you are in #evil (1 here)\r\n"),
                        "#dev");
    assert_null(room_of_text("mallory: * you are in #evil (1 here)\r\n"));
    /* Nor a line that only ends like one. */
    assert_null(room_of_text("mallory: hi\r\nx* you are in #evil (1 here)\r\n"));
    /* Nothing of a hub: a talk with another wintalk. */
    assert_null(room_of_text("hello\r\nhow are you?\r\n"));
    assert_null(room_of_text(""));
    /* An unfinished line does not count yet. */
    assert_null(room_of_text("* you are in #dev (3 here)"));
    assert_string_equal(room_of_text("* you are in #dev (3 here)\r\n"
                                     "* you are in #evil (1 here)"),
                        "#dev");
    /* A long line holding the text further on is not a room line. */
    {
        char text[300];
        memset(text, 'y', 200);
        strcpy(text + 200, "* you are in #evil (1 here)\r\n");
        assert_null(room_of_text(text));
        /* A line just within the bound: the longest room line. */
        assert_string_equal(
            room_of_text("* you are in #abcdefghijklmnopqrstuvwxyz012345 (123456789 here)\r\n"),
            "#abcdefghijklmnopqrstuvwxyz012345");
    }
}

/* Feeding a text in two pieces, split at every index, gives the room the
 * whole text gives, and says so exactly once. */
static void test_watch_split_at_every_index(void **state)
{
    static const char text[] = "* alice joined\r\n"
                               "mallory: * you are in #evil (1 here)\r\n"
                               "* you are in #dev (3 here)\r\n"
                               "bob: hi\r\n";
    size_t len = sizeof(text) - 1;

    (void)state;
    for (size_t cut = 0; cut <= len; cut++) {
        struct wc_hub_watch w;
        int changed;

        wc_hub_watch_init(&w);
        assert_string_equal(wc_hub_watch_room(&w), "");
        changed = wc_hub_watch_feed(&w, text, cut);
        changed += wc_hub_watch_feed(&w, text + cut, len - cut);
        assert_int_equal(changed, 1);
        assert_string_equal(wc_hub_watch_room(&w), "#dev");
    }
    /* Byte by byte. */
    {
        struct wc_hub_watch w;
        int changed = 0;

        wc_hub_watch_init(&w);
        for (size_t i = 0; i < len; i++)
            changed += wc_hub_watch_feed(&w, text + i, 1);
        assert_int_equal(changed, 1);
        assert_string_equal(wc_hub_watch_room(&w), "#dev");
    }
}

static void test_watch_reset_and_keep(void **state)
{
    struct wc_hub_watch w;

    (void)state;
    wc_hub_watch_init(&w);
    assert_int_equal(wc_hub_watch_feed(&w, "* you are in #dev (3 here)\r\n", 28), 1);
    /* The same room again is no change. */
    assert_int_equal(wc_hub_watch_feed(&w, "* you are in #dev (4 here)\r\n", 28), 0);
    /* An unfinished line, then a replaced pane: the line is gone, and the
     * new pane's first line starts fresh. */
    assert_int_equal(wc_hub_watch_feed(&w, "mallory: ", 9), 0);
    wc_hub_watch_reset(&w);
    assert_int_equal(wc_hub_watch_feed(&w, "* you are in #lobby (2 here)\r\n", 30), 1);
    assert_string_equal(wc_hub_watch_room(&w), "#lobby");
    /* Without a reset, the same bytes continue a user's line. */
    assert_int_equal(wc_hub_watch_feed(&w, "mallory: ", 9), 0);
    assert_int_equal(wc_hub_watch_feed(&w, "* you are in #evil (1 here)\r\n", 29), 0);
    /* A replaced pane without a room line keeps the room. */
    wc_hub_watch_reset(&w);
    assert_int_equal(wc_hub_watch_feed(&w, "bob: hi\r\n", 9), 0);
    assert_string_equal(wc_hub_watch_room(&w), "#lobby");
    /* A line longer than the bound is skipped to its end, and the next
     * line is read again. */
    {
        char big[WC_HUB_LINE_MAX * 3];
        memset(big, '*', sizeof(big));
        assert_int_equal(wc_hub_watch_feed(&w, big, sizeof(big)), 0);
        assert_int_equal(wc_hub_watch_feed(&w, "* you are in #x (1 here)\r\n", 26), 0);
        assert_int_equal(wc_hub_watch_feed(&w, "* you are in #x (1 here)\r\n", 26), 1);
        assert_string_equal(wc_hub_watch_room(&w), "#x");
    }
}

static int private_of(const char *line)
{
    return wc_hub_private_line(line, strlen(line));
}

static void test_private_lines(void **state)
{
    char nick[WC_HUB_NICK_MAX + 32];

    (void)state;
    assert_int_equal(private_of("* alice -> you: hi"), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* alice -> you: hi\r"), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* alice -> you: "), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* alice -> you:"), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* guest-3 -> you: a -> you: b"), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* \u00f1and\u00fa -> you: hola"), WC_HUB_PRIVATE_IN);
    assert_int_equal(private_of("* you -> alice: hi"), WC_HUB_PRIVATE_OUT);
    assert_int_equal(private_of("* you -> alice:"), WC_HUB_PRIVATE_OUT);
    assert_int_equal(private_of("* you -> al.ice_2: hi\r"), WC_HUB_PRIVATE_OUT);
    /* To oneself: the confirmation is what the line says first. */
    assert_int_equal(private_of("* you -> you: hi"), WC_HUB_PRIVATE_OUT);

    /* Lines that are not, or that try to pass for one. */
    assert_int_equal(private_of("mallory: * alice -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("mallory: * you -> alice: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of(" * alice -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("*alice -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("*  alice -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice bob -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice -> you:hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice -> yours: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice -> you"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice ->  you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice: -> you: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* al\x1b"
                                "ice -> you: hi"),
                     WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you -> alice hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you -> alice bob: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you -> : hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you -> alice:hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you ->"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* alice joined"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* error 550: no one called bob"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("* you are in #dev (3 here)"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("alice: hi"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of("*"), WC_HUB_NOT_PRIVATE);
    assert_int_equal(private_of(""), WC_HUB_NOT_PRIVATE);
    assert_int_equal(wc_hub_private_line(NULL, 0), WC_HUB_NOT_PRIVATE);

    /* The nick's bound: WC_HUB_NICK_MAX bytes pass, one more does not. */
    strcpy(nick, "* ");
    memset(nick + 2, 'n', WC_HUB_NICK_MAX);
    strcpy(nick + 2 + WC_HUB_NICK_MAX, " -> you: hi");
    assert_int_equal(private_of(nick), WC_HUB_PRIVATE_IN);
    memset(nick + 2, 'n', WC_HUB_NICK_MAX + 1);
    strcpy(nick + 2 + WC_HUB_NICK_MAX + 1, " -> you: hi");
    assert_int_equal(private_of(nick), WC_HUB_NOT_PRIVATE);
    strcpy(nick, "* you -> ");
    memset(nick + 9, 'n', WC_HUB_NICK_MAX);
    strcpy(nick + 9 + WC_HUB_NICK_MAX, ": hi");
    assert_int_equal(private_of(nick), WC_HUB_PRIVATE_OUT);
    memset(nick + 9, 'n', WC_HUB_NICK_MAX + 1);
    strcpy(nick + 9 + WC_HUB_NICK_MAX + 1, ": hi");
    assert_int_equal(private_of(nick), WC_HUB_NOT_PRIVATE);
}

/* ---- the room through a session, frame by frame ---- */

static void talking_caller(struct wc_session *s)
{
    size_t used;
    unsigned ev;

    assert_int_equal(wc_session_init(s, WC_ROLE_CALLER), WC_OK);
    assert_int_equal(wc_session_start(s), WC_OK);
    assert_int_equal(wc_session_feed(s, WT_HANDSHAKE, WT_HANDSHAKE_LEN, &used, &ev), WC_OK);
}

/* Feed one frame's bytes whole; returns the events. */
static unsigned feed_frame(struct wc_session *s, const char *bytes)
{
    size_t used, len = strlen(bytes);
    unsigned ev = 0;

    assert_int_equal(wc_session_feed(s, bytes, len, &used, &ev), WC_OK);
    assert_int_equal(used, len);
    return ev;
}

static void test_session_follows_room(void **state)
{
    struct wc_session s;

    (void)state;
    talking_caller(&s);
    assert_string_equal(wc_session_room(&s), "");
    /* The first transcript, the room line at its end. */
    assert_true(
        feed_frame(&s, "R57:* alice joined\r\nalice: hi\r\n* you are in #lobby (2 here)\r\n") &
        WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#lobby");
    /* Appended lines: a private message and a user's fake. */
    assert_false(feed_frame(&s, "A20:* alice -> you: hi\r\n") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "A38:mallory: * you are in #evil (1 here)\r\n") & WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#lobby");
    /* /join #dev: a new pane. */
    assert_true(feed_frame(&s, "R37:bob: hi\r\n* you are in #dev (3 here)\r\n") & WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#dev");
    /* The room line may also come in its own frame after the R, and in
     * pieces. */
    assert_false(feed_frame(&s, "R8:carol: x") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "A2:\r\n") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "A13:* you are in ") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "A15:#lobby (2 here)") & WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#dev");
    assert_true(feed_frame(&s, "A2:\r\n") & WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#lobby");
    /* An R ends the line in progress: "mallory: " does not prefix what
     * the new pane starts with, and the line is not glued to it either. */
    assert_false(feed_frame(&s, "A9:mallory: ") & WC_EV_ROOM);
    assert_true(feed_frame(&s, "R28:* you are in #dev (3 here)\r\n") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "A9:mallory: ") & WC_EV_ROOM);
    assert_false(feed_frame(&s, "R28:* you are in #lobby (2 here)") & WC_EV_ROOM);
    assert_string_equal(wc_session_room(&s), "#dev");
    wc_session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_line_accepted),
        cmocka_unit_test(test_room_line_refused),
        cmocka_unit_test(test_room_in_text),
        cmocka_unit_test(test_watch_split_at_every_index),
        cmocka_unit_test(test_watch_reset_and_keep),
        cmocka_unit_test(test_private_lines),
        cmocka_unit_test(test_session_follows_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
