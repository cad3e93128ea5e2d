namespace StreamLb.Relay;

/// <summary>How a relay ended: bytes each way, and the error that ended it, if any.</summary>
public sealed record RelayResult(long BytesFromClient, long BytesFromUpstream, Exception? Error);
