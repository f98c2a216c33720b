import CSCore
import CSRedis

/// Redis functions of webhooks (library `cs_webhooks`); every one touches `{webhooks}` keys only,
/// all passed as KEYS (docs/redis-keys.md "Webhooks").
public enum WebhookScripts {
    /// `lease`: KEYS the lease key; ARGV the process id, the lease in ms. Takes the lease if free
    /// or renews it if ours (1); 0 when another process holds it.
    public static let lease = RedisScript(
        "cs_webhook_lease",
        """
        local holder = redis.call('GET', KEYS[1])
        if holder and holder ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """)

    /// `leaseRelease`: deletes the lease if it is still ours.
    public static let leaseRelease = RedisScript(
        "cs_webhook_lease_release",
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")

    /// The library `cs-webhooks` and `cs-admin` register.
    public static let library = RedisFunctionLibrary(name: "cs_webhooks", functions: [lease, leaseRelease])
}
