/* SPDX-License-Identifier: BSD-3-Clause */
#include "tern_feed.h"
