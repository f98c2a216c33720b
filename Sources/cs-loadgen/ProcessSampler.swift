import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// CPU time and memory of processes, read from `/proc` (Linux).
enum ProcessSampler {
    /// Clock ticks per second for `/proc/<pid>/stat` times.
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User + system CPU seconds the process has used; nil when it is gone.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// CPU seconds of this process (all threads).
    static func ownCPUSeconds() -> Double {
        cpuSeconds(pid: getpid()) ?? 0
    }

    /// Resident set size in bytes (`VmRSS` of `/proc/<pid>/status`); nil when the process is gone.
    static func residentBytes(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kilobytes = Int(parts[1]) { return kilobytes * 1024 }
        }
        return nil
    }

    /// Voluntary context switches of all the process' threads (`voluntary_ctxt_switches` of each
    /// `/proc/<pid>/task/<tid>/status`): how often its threads went to sleep waiting for work, so
    /// per message, how many thread wakes a message costs; nil when the process is gone.
    static func voluntaryContextSwitches(pid: Int32) -> Int? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total = 0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") {
                total += Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
        }
        return total
    }

    /// Busy and total jiffies of the whole machine (`/proc/stat`, first line).
    static func machineTicks() -> (busy: Double, total: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first
        else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return nil }
        let idle = values[3] + values[4]  // idle + iowait
        let total = values.reduce(0, +)
        return (total - idle, total)
    }
}

/// CPU used by watched processes (and this one) between ``start()`` and ``stop()``, in cores.
struct CPUWindow {
    private let processes: [(name: String, pid: Int32)]
    private var startWall: UInt64 = 0
    private var startCPU: [String: Double] = [:]
    private var startSwitches: [String: Int] = [:]
    private var startMachine: (busy: Double, total: Double)?

    init(processes: [(name: String, pid: Int32)]) {
        self.processes = processes
    }

    mutating func start() {
        startWall = MonotonicClock.now()
        startCPU = ["cs-loadgen": ProcessSampler.ownCPUSeconds()]
        for process in processes {
            startCPU[process.name] = ProcessSampler.cpuSeconds(pid: process.pid)
            startSwitches[process.name] = ProcessSampler.voluntaryContextSwitches(pid: process.pid)
        }
        startMachine = ProcessSampler.machineTicks()
    }

    /// Cores used per process over the window, plus `machineBusyFraction` of all cores.
    /// `startedInWindow` are processes started after ``start()`` (the load generator's workers),
    /// whose whole CPU time counts.
    func stop(startedInWindow: [(name: String, pids: [Int32])] = []) -> CPUReport {
        let seconds = Double(MonotonicClock.now() - startWall) / 1e9
        var cores: [String: Double] = [:]
        for group in startedInWindow where seconds > 0 {
            let used = group.pids.compactMap(ProcessSampler.cpuSeconds(pid:)).reduce(0, +)
            cores[group.name] = (used / seconds * 100).rounded() / 100
        }
        let now = ["cs-loadgen": ProcessSampler.ownCPUSeconds()].merging(
            processes.map { ($0.name, ProcessSampler.cpuSeconds(pid: $0.pid) ?? .nan) }, uniquingKeysWith: { a, _ in a })
        var used: [String: Double] = [:]
        for (name, value) in now {
            guard let before = startCPU[name], value.isFinite, seconds > 0 else { continue }
            cores[name] = ((value - before) / seconds * 100).rounded() / 100
            used[name] = ((value - before) * 1000).rounded() / 1000
        }
        var switches: [String: Int] = [:]
        for process in processes {
            guard let before = startSwitches[process.name], let after = ProcessSampler.voluntaryContextSwitches(pid: process.pid) else { continue }
            switches[process.name] = after - before
        }
        var busy: Double?
        if let startMachine, let end = ProcessSampler.machineTicks(), end.total > startMachine.total {
            busy = ((end.busy - startMachine.busy) / (end.total - startMachine.total) * 1000).rounded() / 1000
        }
        let machineCores = ProcessInfo.processInfo.activeProcessorCount
        let unattributed = busy.map { max(0, ($0 * Double(machineCores) - cores.values.reduce(0, +)) * 100).rounded() / 100 }
        return CPUReport(seconds: (seconds * 100).rounded() / 100, coresByProcess: cores, cpuSecondsByProcess: used, voluntaryContextSwitches: switches, machineBusyFraction: busy,
                         unattributedCores: unattributed, machineCores: machineCores)
    }
}

/// CPU use over a measurement window.
struct CPUReport: Codable, Sendable {
    var seconds: Double
    /// Cores used (1.0 = one core fully busy) by the load generator and each watched process.
    var coresByProcess: [String: Double]
    /// CPU seconds (user + system) of each watched process over the window, unrounded: per-message
    /// costs at low rates come from these (cores rounded to 0.01 are too coarse there).
    var cpuSecondsByProcess: [String: Double] = [:]
    /// Voluntary context switches of each watched process over the window (all its threads).
    var voluntaryContextSwitches: [String: Int] = [:]
    /// Fraction of all the machine's cores that were busy.
    var machineBusyFraction: Double?
    /// Busy cores not used by the processes above: other work on the machine (and kernel time
    /// not charged to them). High values mean the numbers were taken on a loaded machine.
    var unattributedCores: Double?
    var machineCores: Int
}
