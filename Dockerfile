# One image for both programs: the load balancer (default) and the WebSocket echo backend.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/StreamLb.Host -c Release -o /app/streamlb \
 && dotnet publish src/StreamLb.EchoBackend -c Release -o /app/echo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app /app
COPY cluster-config /app/cluster-config
EXPOSE 8443
ENTRYPOINT ["dotnet", "/app/streamlb/StreamLb.Host.dll"]
CMD ["run", "-c", "/app/cluster-config/docker/streamlb.conf"]
