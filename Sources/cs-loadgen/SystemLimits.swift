#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit, raised as far as the hard limit allows.
enum SystemLimits {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// How many client connections one process can hold: the open-file limit minus a reserve
    /// for the event loops, Redis and standard streams.
    static func connectionCapacity() -> Int {
        max(raiseOpenFileLimit() - 200, 100)
    }
}
