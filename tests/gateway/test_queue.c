/*
 * test_queue.c - the bounded output queue: gw_queue_push_last, which queues
 * a participant's closing line even when the queue is full, dropping the
 * oldest items that are not to be kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gw_queue.h"

static struct gw_buf *buf(const char *s)
{
    struct gw_buf *b = gw_buf_copy(0, s, strlen(s));
    assert_non_null(b);
    return b;
}

/* The queue's items, oldest first, each followed by '|'. */
static void expect_queue(struct gw_queue *q, const char *want)
{
    char got[256];
    size_t o = 0;
    for (size_t i = 0; i < q->count; i++) {
        const struct gw_item *it = &q->items[(q->head + i) % q->cap];
        assert_true(o + it->buf->len + 4 < sizeof got);
        memcpy(got + o, gw_buf_bytes(it->buf), it->buf->len);
        o += it->buf->len;
        if (it->flags & GW_ITEM_SOLO)
            got[o++] = '!';
        got[o++] = '|';
    }
    got[o] = '\0';
    assert_string_equal(got, want);
}

static void push(struct gw_queue *q, const char *s, unsigned flags)
{
    struct gw_buf *b = buf(s);
    assert_int_equal(gw_queue_push(q, b, flags), 0);
    gw_buf_unref(b);
}

static int push_last(struct gw_queue *q, const char *s, unsigned keep)
{
    struct gw_buf *b = buf(s);
    int rc = gw_queue_push_last(q, b, 0, keep);
    gw_buf_unref(b);
    return rc;
}

static void queue_push_last(void **state)
{
    (void)state;
    struct gw_queue q;
    /* By bytes: the oldest unkept items go, the kept one stays first, even
     * when the ring has wrapped around. */
    gw_queue_init(&q, 10, 8);
    push(&q, "xx", 0);
    gw_buf_unref(gw_queue_pop(&q));
    push(&q, "H", GW_ITEM_SOLO);
    push(&q, "aaa", 0);
    push(&q, "bbb", 0);
    push(&q, "cc", 0);
    assert_int_equal(push_last(&q, "LLLL", GW_ITEM_SOLO), 0);
    expect_queue(&q, "H!|bbb|cc|LLLL|");
    assert_int_equal(q.bytes, 10);
    /* Room already: nothing goes. */
    gw_queue_clear(&q);
    push(&q, "aa", 0);
    assert_int_equal(push_last(&q, "LL", 0), 0);
    expect_queue(&q, "aa|LL|");
    /* Kept items alone leave no room in bytes: queued past the bound. */
    gw_queue_clear(&q);
    push(&q, "HHHHHHHH", GW_ITEM_SOLO);
    push(&q, "a", 0);
    assert_int_equal(push_last(&q, "LLLL", GW_ITEM_SOLO), 0);
    expect_queue(&q, "HHHHHHHH!|LLLL|");
    assert_int_equal(q.bytes, 12);
    gw_queue_clear(&q);

    /* By items: the oldest unkept goes. */
    gw_queue_init(&q, 100, 3);
    push(&q, "a", 0);
    push(&q, "H", GW_ITEM_SOLO);
    push(&q, "b", 0);
    assert_int_equal(push_last(&q, "L", GW_ITEM_SOLO), 0);
    expect_queue(&q, "H!|b|L|");
    /* Only kept items, at the item bound: refused, nothing changes. */
    gw_queue_clear(&q);
    push(&q, "H", GW_ITEM_SOLO);
    push(&q, "I", GW_ITEM_SOLO);
    push(&q, "J", GW_ITEM_SOLO);
    assert_int_equal(push_last(&q, "L", GW_ITEM_SOLO), GW_QUEUE_FULL);
    expect_queue(&q, "H!|I!|J!|");
    gw_queue_clear(&q);
    /* An empty queue takes it whatever its size. */
    gw_queue_init(&q, 2, 1);
    assert_int_equal(push_last(&q, "LLLL", 0), 0);
    expect_queue(&q, "LLLL|");
    gw_queue_clear(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_push_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
