/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Minimal mocks in the SPDK style: DEFINE_STUB defines a function returning a settable
 * value; MOCK_SET changes it; MOCK_ENQUEUE queues values returned one per call first.
 */
#ifndef TERN_UT_MOCK_H
#define TERN_UT_MOCK_H

#define UT_MOCK_QUEUE_MAX 32

#define DEFINE_STUB(fn, ret, args, val)                                                    \
	ret ut_##fn = val;                                                                 \
	ret ut_##fn##_q[UT_MOCK_QUEUE_MAX];                                                \
	unsigned int ut_##fn##_qh, ut_##fn##_qt, ut_##fn##_calls;                          \
	ret fn args                                                                        \
	{                                                                                  \
		ut_##fn##_calls++;                                                         \
		if (ut_##fn##_qh != ut_##fn##_qt)                                          \
			return ut_##fn##_q[ut_##fn##_qh++ % UT_MOCK_QUEUE_MAX];            \
		return ut_##fn;                                                            \
	}

#define MOCK_SET(fn, val) (ut_##fn = (val))
#define MOCK_ENQUEUE(fn, val) (ut_##fn##_q[ut_##fn##_qt++ % UT_MOCK_QUEUE_MAX] = (val))
#define MOCK_CALLS(fn) (ut_##fn##_calls)

#endif /* TERN_UT_MOCK_H */
