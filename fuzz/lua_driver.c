/* libFuzzer driver for the Lua layer: one Lua state with cgsandbox (its C
 * core linked in, under ASan+UBSan), and a harness, FUZZ_HARNESS, that
 * returns a function.  Each input goes to that function as a string; an
 * error it raises is a finding (the harness raises only when an oracle
 * fails: an error that is not a RecipeError, a compiled plan the C plan
 * reader refuses, a parser result out of its documented range). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int luaopen_cgsandbox_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static lua_State *L; /* the fuzzer's one state (a test driver, not the library) */
static int harness = LUA_NOREF;

/* Lua-level coverage for libFuzzer: the interpreter is not instrumented,
 * so a line hook counts (previous line, line) pairs of the Lua code into
 * libFuzzer's extra counters: inputs that reach new branches of the
 * recipe compiler are kept, as with C code */
#define NCOUNTERS 65536
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_cov[NCOUNTERS];
static uintptr_t prev_loc;

static void line_hook(lua_State *S, lua_Debug *ar)
{
	if (!lua_getinfo(S, "S", ar))
		return;
	uintptr_t loc = (uintptr_t)ar->source * 2654435761u + (uintptr_t)ar->currentline;
	uintptr_t h = loc ^ (prev_loc >> 1);
	lua_cov[(h ^ (h >> 17)) % NCOUNTERS]++;
	prev_loc = loc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_cgsandbox_core);
	lua_setfield(L, -2, "cgsandbox.core");
	lua_pop(L, 1);
	if (luaL_dostring(L, "package.path = '" SBX_SRC_DIR "/lua/?.lua;"
			  SBX_SRC_DIR "/lua/?/init.lua;" SBX_SRC_DIR
			  "/fuzz/?.lua;' .. package.path") != LUA_OK ||
	    luaL_dofile(L, SBX_SRC_DIR "/fuzz/" FUZZ_HARNESS ".lua") != LUA_OK ||
	    !lua_isfunction(L, -1)) {
		fprintf(stderr, "fuzz: %s\n", lua_tostring(L, -1));
		abort();
	}
	harness = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_sethook(L, line_hook, LUA_MASKLINE, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, harness);
	lua_pushlstring(L, (const char *)d, n);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		fprintf(stderr, "fuzz finding: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
