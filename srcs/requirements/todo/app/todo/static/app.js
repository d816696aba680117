// The todo page: everything goes through the JSON API; titles are always set
// with textContent or input values, never as HTML.
"use strict";

const state = { todos: [], filter: "all" };
const list = document.getElementById("list");
const errorBox = document.getElementById("error");
const template = document.getElementById("item");
const authSection = document.getElementById("auth");
const appSection = document.getElementById("app");

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  // The session cookie is HttpOnly and SameSite=Strict: same-origin fetches carry it.
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${method} ${path} failed (${response.status})`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new ApiError(message, response.status);
  }
  return response.status === 204 ? null : response.json();
}

function showError(error) {
  errorBox.textContent = error ? error.message : "";
}

function showSignedIn(username) {
  document.getElementById("whoami").textContent = username;
  authSection.hidden = true;
  appSection.hidden = false;
}

function showSignedOut() {
  state.todos = [];
  render();
  appSection.hidden = true;
  authSection.hidden = false;
  document.getElementById("password").value = "";
}

// A todo request answered 401: the session ended (expired, or signed out in another tab).
function sessionLost(error) {
  if (!(error instanceof ApiError) || error.status !== 401) return false;
  showSignedOut();
  showError(new Error("Your session has ended: sign in again."));
  document.getElementById("username").focus();
  return true;
}

function visible(todo) {
  return state.filter === "all" || (state.filter === "done") === todo.done;
}

function render() {
  list.replaceChildren();
  for (const todo of state.todos.filter(visible)) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = todo.id;
    item.classList.toggle("done", todo.done);
    const toggle = item.querySelector(".toggle");
    toggle.checked = todo.done;
    toggle.setAttribute("aria-label", `Done: ${todo.title}`);
    item.querySelector(".title").textContent = todo.title;
    item.querySelector(".edit").setAttribute("aria-label", `Edit: ${todo.title}`);
    item.querySelector(".delete").setAttribute("aria-label", `Delete: ${todo.title}`);
    list.append(item);
  }
  const left = state.todos.filter((todo) => !todo.done).length;
  document.getElementById("count").textContent = `${left} of ${state.todos.length} left`;
}

async function reload() {
  try {
    state.todos = await api("GET", "/api/todos");
    showError(null);
  } catch (error) {
    if (sessionLost(error)) return;
    showError(error);
  }
  render();
}

async function run(action) {
  try {
    await action();
    showError(null);
    await reload();
  } catch (error) {
    if (!sessionLost(error)) showError(error);
  }
}

document.getElementById("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const register = event.submitter && event.submitter.value === "register";
  const username = document.getElementById("username").value.trim();
  const password = document.getElementById("password").value;
  try {
    const account = await api("POST", register ? "/api/auth/register" : "/api/auth/login", { username, password });
    showError(null);
    showSignedIn(account.username);
    await reload();
    document.getElementById("new-title").focus();
  } catch (error) {
    showError(error);
    document.getElementById(error.status === 401 ? "password" : "username").focus();
  }
});

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api("POST", "/api/auth/logout");
    showError(null);
  } catch (error) {
    showError(error);
  }
  showSignedOut();
  document.getElementById("username").focus();
});

document.getElementById("new-todo").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("new-title");
  run(async () => {
    await api("POST", "/api/todos", { title: input.value });
    input.value = "";
  });
});

function startEditing(item) {
  const todo = state.todos.find((t) => t.id === item.dataset.id);
  const title = item.querySelector(".title");
  const input = document.createElement("input");
  input.className = "editor";
  input.maxLength = 200;
  input.value = todo.title;
  input.setAttribute("aria-label", "New title");
  title.replaceWith(input);
  input.focus();
  let finished = false;
  const finish = (save) => {
    if (finished) return;
    finished = true;
    if (save && input.value.trim() !== todo.title) {
      run(() => api("PATCH", `/api/todos/${todo.id}`, { title: input.value }));
    } else {
      render();
    }
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

list.addEventListener("change", (event) => {
  if (!event.target.matches(".toggle")) return;
  const id = event.target.closest(".item").dataset.id;
  run(() => api("PATCH", `/api/todos/${id}`, { done: event.target.checked }));
});

list.addEventListener("click", (event) => {
  const item = event.target.closest(".item");
  if (!item) return;
  if (event.target.matches(".delete")) {
    run(() => api("DELETE", `/api/todos/${item.dataset.id}`));
  } else if (event.target.matches(".edit")) {
    startEditing(item);
  }
});

for (const button of document.querySelectorAll("[data-filter]")) {
  button.addEventListener("click", () => {
    state.filter = button.dataset.filter;
    for (const other of document.querySelectorAll("[data-filter]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    render();
  });
}

async function start() {
  try {
    showSignedIn((await api("GET", "/api/auth/me")).username);
    await reload();
  } catch (error) {
    // 401: no session yet, which is what the sign-in form is for.
    showSignedOut();
    if (error.status !== 401) showError(error);
  }
}

start();
