/* A plain Lua 5.4 interpreter linked with the sanitizers (build/asan/lua5.4),
 * so that busted and the specs' own Lua scripts can load the ASan build of
 * cgsandbox without LD_PRELOAD (which every child would inherit: ps, sh,
 * the jails' commands).  Usage: lua [-e chunk]... [script [args...]] */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

static int traceback(lua_State *L)
{
	const char *m = lua_tostring(L, 1);
	luaL_traceback(L, L, m ? m : luaL_tolstring(L, 1, NULL), 1);
	return 1;
}

static int run(lua_State *L, int status, int nargs)
{
	if (status == LUA_OK) {
		int base = lua_gettop(L) - nargs;
		lua_pushcfunction(L, traceback);
		lua_insert(L, base);
		status = lua_pcall(L, nargs, 0, base);
		lua_remove(L, base);
	}
	if (status != LUA_OK) {
		fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return status;
}

int main(int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	int i = 1, status = LUA_OK;
	if (!L)
		return 1;
	luaL_openlibs(L);
	for (; i < argc && status == LUA_OK; i++) {
		if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
			status = run(L, luaL_loadstring(L, argv[++i]), 0);
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (status == LUA_OK && i < argc) {
		lua_createtable(L, argc - i, i + 1);
		for (int k = 0; k < argc; k++) {
			lua_pushstring(L, argv[k]);
			lua_rawseti(L, -2, k - i);
		}
		lua_setglobal(L, "arg");
		status = luaL_loadfile(L, argv[i]);
		for (int k = i + 1; k < argc; k++)
			lua_pushstring(L, argv[k]);
		status = run(L, status, status == LUA_OK ? argc - i - 1 : 0);
	}
	lua_close(L);
	return status == LUA_OK ? 0 : 1;
}
