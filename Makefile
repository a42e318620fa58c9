# The C++ core (a static library linked into the nginx module) and its
# Check unit tests.  build.sh drives this; nginx's own build makes the .so.

BUILD    ?= build
CXX      ?= g++
CC       ?= gcc
CXXFLAGS ?= -O2 -g
CFLAGS   ?= -O2 -g

CORE_CXXFLAGS = -std=c++17 -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
                -Wshadow -Wconversion -Wno-sign-conversion $(CXXFLAGS)
TEST_CFLAGS   = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc $(CFLAGS) \
                $(shell pkg-config --cflags check)
CORE_LIBS     = -lcjose -ljansson -lcrypto -lstdc++
TEST_LIBS     = $(shell pkg-config --libs check) $(CORE_LIBS) -pthread

CORE_SRCS := $(wildcard src/core/*.cpp)
CORE_OBJS := $(CORE_SRCS:src/core/%.cpp=$(BUILD)/core/%.o)
TEST_SRCS := $(wildcard t/unit/*.c)
TEST_OBJS := $(TEST_SRCS:t/unit/%.c=$(BUILD)/unit/%.o)

.PHONY: all core unit-tests check
all: core unit-tests
core: $(BUILD)/liboidc_logout_core.a
unit-tests: $(BUILD)/check_core

$(BUILD)/liboidc_logout_core.a: $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/core/%.o: src/core/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(CORE_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/unit/%.o: t/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/check_core: $(TEST_OBJS) $(BUILD)/liboidc_logout_core.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJS) $(BUILD)/liboidc_logout_core.a $(TEST_LIBS)

check: unit-tests
	cd t/unit && ../../$(BUILD)/check_core

-include $(CORE_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
