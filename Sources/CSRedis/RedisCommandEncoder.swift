import CHiredis
import NIOCore

/// Encodes commands as RESP multi-bulk requests with hiredis' `redisFormatCommandArgv`
/// (explicit lengths, so arguments may contain any bytes including `\r\n` and NUL).
enum RedisCommandEncoder {
    /// Appends the RESP encoding of one command to `buffer`.
    /// - Throws: ``RedisError/Code/invalidCommand`` for an empty command.
    static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) throws {
        guard !arguments.isEmpty else {
            throw RedisError(code: .invalidCommand, message: "a command needs at least one argument")
        }
        guard arguments.count <= Int(Int32.max) else {
            throw RedisError(code: .invalidCommand, message: "too many arguments")
        }
        // hiredis needs all argument pointers at once: lay the arguments out in one contiguous block.
        var totalLength = 0
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            lengths.append(argument.bytes.readableBytes)
            totalLength += argument.bytes.readableBytes
        }
        var joined = ByteBufferAllocator().buffer(capacity: totalLength + 1)
        for argument in arguments {
            var bytes = argument.bytes
            joined.writeBuffer(&bytes)
        }
        joined.writeInteger(UInt8(0))  // guarantees a non-nil base address even if every argument is empty

        let written: Int32 = joined.withUnsafeReadableBytes { block in
            let base = block.baseAddress!.assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(arguments.count)
            var offset = 0
            for length in lengths {
                argv.append(UnsafePointer(base + offset))
                offset += length
            }
            var target: UnsafeMutablePointer<CChar>?
            let count = argv.withUnsafeMutableBufferPointer { argvPointer in
                lengths.withUnsafeBufferPointer { lengthPointer in
                    redisFormatCommandArgv(&target, Int32(arguments.count), argvPointer.baseAddress, lengthPointer.baseAddress)
                }
            }
            guard count >= 0, let target else { return -1 }
            defer { redisFreeCommand(target) }
            buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(count)))
            return count
        }
        if written < 0 {
            throw RedisError(code: .invalidCommand, message: "redisFormatCommandArgv failed (out of memory or command too large)")
        }
    }
}
