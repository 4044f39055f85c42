global using NUnit.Framework;
global using Tensorium;
global using Tensorium.Tests.Support;
