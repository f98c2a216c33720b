import NIOCore

/// Decodes RESP replies with a hiredis `redisReader`, firing one ``RESPValue`` per complete reply.
///
/// Invalid input throws ``RedisError/Code/protocolError``; `ByteToMessageHandler` then reports it
/// through `errorCaught` (the command handlers close the connection) and drops further bytes.
struct RedisReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private let reader = HiredisReader()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            try self.reader.feed(buffer)
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
        while let reply = try self.reader.nextReply(allocator: context.channel.allocator) {
            context.fireChannelRead(Self.wrapInboundOut(reply))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial reply at EOF is dropped; the command handler fails its promise on channelInactive.
        try self.decode(context: context, buffer: &buffer)
    }
}
