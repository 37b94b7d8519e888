-- Test-only Prosody plugin: s2s targets from the config instead of DNS, so Prosody on loopback can reach a
-- Natter on any port without SRV records (Natter's own equivalent is `s2s.resolve`).
--   s2s_test_targets = { ["natter.test"] = { "127.0.0.1", 45269 } }
-- Loaded globally (modules_enabled); it wraps net.resolvers.service, which mod_s2s looks up per connection.
local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";

local targets = module:get_option("s2s_test_targets", {});
local original_new = service._natter_original_new or service.new;
service._natter_original_new = original_new;

local none_mt = { __index = { next = function (_, cb) cb(nil); end } };

service.new = function (hostname, service_name, proto, extra)
	local target = targets[hostname];
	if target then
		if service_name == "xmpp-server" then
			module:log("debug", "s2s target for %s from config: %s:%d", hostname, target[1], target[2]);
			return basic.new(target[1], target[2], proto, extra);
		end
		return setmetatable({}, none_mt); -- no _xmpps-server (direct TLS) target
	end
	return original_new(hostname, service_name, proto, extra);
end

function module.unload()
	service.new = original_new;
end
