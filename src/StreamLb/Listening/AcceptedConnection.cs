using System.Net;
using System.Net.Sockets;

namespace StreamLb.Listening;

/// <summary>A client connection the listener accepted, handed to its connection actor, which then owns the socket.</summary>
public sealed record AcceptedConnection(Socket Socket, EndPoint RemoteAddress, EndPoint LocalAddress);
