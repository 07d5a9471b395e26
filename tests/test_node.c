/*
 * test_node: the arena and the node tree; YAML 1.2 core-schema conversions.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "node.h"

static arena *A;

static void setup(void)
{
	A = arena_new();
}

static void teardown(void)
{
	arena_free(A);
	A = NULL;
}

static node *plain(const char *s)
{
	return node_new_scalar(A, (src_pos){ "t.yaml", 1, 1 }, s, strlen(s), 0);
}

START_TEST(test_arena_alignment_and_zero)
{
	for (size_t i = 1; i < 5000; i += 37) {
		unsigned char *p = arena_alloc(A, i);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_eq(p[j], 0);
		memset(p, 0xab, i);
	}
	/* larger than a block: its own allocation, still zeroed */
	unsigned char *big = arena_alloc(A, 1 << 20);
	ck_assert_uint_eq(big[(1 << 20) - 1], 0);
	ck_assert_str_eq(arena_printf(A, "%s-%d", "care", 7), "care-7");
	ck_assert_str_eq(arena_strndup(A, "abcdef", 3), "abc");
}
END_TEST

START_TEST(test_map_set_get)
{
	node *m = node_new_map(A, (src_pos){ 0 });
	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%d", i);
		node_map_set(A, m, plain(k), plain(k + 1));
	}
	ck_assert_uint_eq(m->count, 100);
	node_map_set(A, m, plain("k5"), plain("five"));
	ck_assert_uint_eq(m->count, 100);
	ck_assert_str_eq(node_get_str(m, "k5"), "five");
	ck_assert_str_eq(node_get_str(m, "k99"), "99");
	ck_assert_ptr_null(node_get(m, "nope"));
	ck_assert_ptr_null(node_get(plain("x"), "x"));
	ck_assert(node_is(node_get(m, "k7"), "7"));
	ck_assert(!node_is(node_get(m, "k7"), "77"));
}
END_TEST

START_TEST(test_seq_push_and_copy)
{
	node *s = node_new_seq(A, (src_pos){ "f", 3, 4 });
	/* an array built by hand (cap 0) must be copied, not overrun */
	s->items = arena_alloc(A, sizeof(node *));
	s->items[0] = plain("first");
	s->count = 1;
	for (int i = 0; i < 50; i++)
		node_seq_push(A, s, plain("x"));
	ck_assert_uint_eq(s->count, 51);
	ck_assert_str_eq(s->items[0]->str, "first");
	node *c = node_copy(A, s);
	ck_assert_ptr_ne(c, s);
	ck_assert_ptr_ne(c->items[0], s->items[0]);
	ck_assert_str_eq(c->items[0]->str, "first");
	ck_assert_int_eq(c->pos.line, 3);
	node_seq_push(A, c, plain("more"));
	ck_assert_uint_eq(s->count, 51);
	ck_assert_uint_eq(c->count, 52);
}
END_TEST

static const struct {
	const char *text;
	int ok;
	long long value;
} int_cases[] = {
	{ "0", 1, 0 }, { "42", 1, 42 }, { "-17", 1, -17 }, { "+3", 1, 3 }, { "0o17", 1, 15 },
	{ "0x1F", 1, 31 }, { "007", 1, 7 }, { "9223372036854775807", 1, 9223372036854775807LL },
	{ "9223372036854775808", 0, 0 }, { "1.5", 0, 0 }, { "1_000", 0, 0 }, { "0x", 0, 0 },
	{ "0o8", 0, 0 }, { "", 0, 0 }, { "12a", 0, 0 }, { " 1", 0, 0 }, { "-", 0, 0 }, { "0b1", 0, 0 },
};

START_TEST(test_as_int)
{
	for (size_t i = 0; i < sizeof int_cases / sizeof int_cases[0]; i++) {
		long long v = -999;
		int r = node_as_int(plain(int_cases[i].text), &v);
		ck_assert_msg(r == (int_cases[i].ok ? 0 : -1), "'%s'", int_cases[i].text);
		if (int_cases[i].ok)
			ck_assert_msg(v == int_cases[i].value, "'%s' -> %lld", int_cases[i].text, v);
		else
			ck_assert_int_eq(v, -999);
	}
}
END_TEST

START_TEST(test_quoted_never_converts)
{
	long long i;
	double d;
	int b;
	node *q = node_new_scalar(A, (src_pos){ 0 }, "2", 1, 1);
	ck_assert_int_eq(node_as_int(q, &i), -1);
	ck_assert_int_eq(node_as_double(q, &d), -1);
	node *t = node_new_scalar(A, (src_pos){ 0 }, "true", 4, 1);
	ck_assert_int_eq(node_as_bool(t, &b), -1);
	node *tagged = plain("12");
	tagged->tag = "!!str";
	ck_assert_int_eq(node_as_int(tagged, &i), -1);
	tagged->tag = "!!int";
	ck_assert_int_eq(node_as_int(tagged, &i), 0);
	ck_assert_int_eq(i, 12);
	ck_assert_int_eq(node_as_int(NULL, &i), -1);
	ck_assert_int_eq(node_as_int(node_new_map(A, (src_pos){ 0 }), &i), -1);
	/* an embedded NUL is not a number */
	node *nul = node_new_scalar(A, (src_pos){ 0 }, "1\0002", 3, 0);
	ck_assert_int_eq(node_as_int(nul, &i), -1);
}
END_TEST

START_TEST(test_as_double)
{
	double d = 0;
	ck_assert_int_eq(node_as_double(plain("1.3"), &d), 0);
	ck_assert(fabs(d - 1.3) < 1e-12);
	ck_assert_int_eq(node_as_double(plain("2"), &d), 0);
	ck_assert(d == 2.0);
	ck_assert_int_eq(node_as_double(plain(".5"), &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(node_as_double(plain("1e3"), &d), 0);
	ck_assert(d == 1000.0);
	ck_assert_int_eq(node_as_double(plain("-.inf"), &d), 0);
	ck_assert(isinf(d) && d < 0);
	ck_assert_int_eq(node_as_double(plain(".NaN"), &d), 0);
	ck_assert(isnan(d));
	ck_assert_int_eq(node_as_double(plain("1.2.3"), &d), -1);
	ck_assert_int_eq(node_as_double(plain("e3"), &d), -1);
	ck_assert_int_eq(node_as_double(plain("1e"), &d), -1);
	ck_assert_int_eq(node_as_double(plain("nan"), &d), -1);
	ck_assert_int_eq(node_as_double(plain("1.0x"), &d), -1);
	ck_assert_int_eq(node_as_double(plain("1e999"), &d), -1);
}
END_TEST

START_TEST(test_as_bool)
{
	int b = -1;
	ck_assert_int_eq(node_as_bool(plain("true"), &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(node_as_bool(plain("FALSE"), &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(node_as_bool(plain("True"), &b), 0);
	ck_assert_int_eq(b, 1);
	/* YAML 1.1 words are strings in the core schema */
	ck_assert_int_eq(node_as_bool(plain("yes"), &b), -1);
	ck_assert_int_eq(node_as_bool(plain("on"), &b), -1);
	ck_assert_int_eq(node_as_bool(plain("tRUE"), &b), -1);
	ck_assert_int_eq(node_as_bool(plain("1"), &b), -1);
}
END_TEST

Suite *suite_node(void);

Suite *suite_node(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("node");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_arena_alignment_and_zero);
	tcase_add_test(tc, test_map_set_get);
	tcase_add_test(tc, test_seq_push_and_copy);
	tcase_add_test(tc, test_as_int);
	tcase_add_test(tc, test_quoted_never_converts);
	tcase_add_test(tc, test_as_double);
	tcase_add_test(tc, test_as_bool);
	suite_add_tcase(s, tc);
	return s;
}
