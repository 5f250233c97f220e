/* sandboxlua: the host.  A small main in the manner of lua.c: one Lua state,
 * the cgsandbox modules built in (the C core linked in, the pure-Lua layer
 * embedded), and cgsandbox.host doing the rest under a traceback handler. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_cgsandbox_core(lua_State *L);

struct embedded { const char *name; const char *src; size_t len; };
extern const struct embedded sbx_embedded[];

static int load_embedded(lua_State *L)
{
	const struct embedded *m = lua_touserdata(L, lua_upvalueindex(1));
	char chunk[128];
	snprintf(chunk, sizeof chunk, "=[builtin %s]", m->name);
	if (luaL_loadbuffer(L, m->src, m->len, chunk) != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, m->name);
	lua_call(L, 1, 1);
	return 1;
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)",
				      luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);

	luaL_openlibs(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_cgsandbox_core);
	lua_setfield(L, -2, "cgsandbox.core");
	for (const struct embedded *m = sbx_embedded; m->name; m++) {
		lua_pushlightuserdata(L, (void *)m);
		lua_pushcclosure(L, load_embedded, 1);
		lua_setfield(L, -2, m->name);
	}
	lua_pop(L, 1);
	lua_createtable(L, argc, 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_setglobal(L, "arg");

	lua_pushcfunction(L, traceback);
	lua_getglobal(L, "require");
	lua_pushliteral(L, "cgsandbox.host");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "main");
	lua_getglobal(L, "arg");
	if (lua_pcall(L, 1, 1, -4) != LUA_OK) {
		fprintf(stderr, "sandboxlua: internal error: %s\n",
			lua_tostring(L, -1));
		lua_pushinteger(L, 125);
	}
	return 1;
}

int main(int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	int code = 125;

	if (!L) {
		fputs("sandboxlua: cannot create a Lua state\n", stderr);
		return 125;
	}
	lua_pushcfunction(L, pmain);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	if (lua_pcall(L, 2, 1, 0) != LUA_OK)
		fprintf(stderr, "sandboxlua: %s\n", lua_tostring(L, -1));
	else
		code = (int)lua_tointeger(L, -1);
	lua_close(L); /* collects jails and cgroups still open */
	return code;
}
